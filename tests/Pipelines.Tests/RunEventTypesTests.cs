namespace Pipelines.Tests;

public sealed class RunEventTypesTests
{
    [Fact]
    public void A_run_ends_as_succeeded_failed_or_cancelled() =>
        Assert.Equal(["pipeline.run.succeeded", "pipeline.run.failed", "pipeline.run.cancelled"], RunEventTypes.RunOutcomes);

    [Fact]
    public void A_step_ends_as_succeeded_failed_skipped_or_cancelled() =>
        Assert.Equal(["pipeline.step.succeeded", "pipeline.step.failed", "pipeline.step.skipped", "pipeline.step.cancelled"], RunEventTypes.StepOutcomes);

    [Fact]
    public void Only_terminal_statuses_have_an_outcome_type()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RunEventTypes.RunFinished(RunStatus.Running));
        Assert.Throws<ArgumentOutOfRangeException>(() => RunEventTypes.StepFinished(StepStatus.AwaitingApproval));
    }

    [Fact]
    public void Every_type_is_listed_once() => Assert.Equal(RunEventTypes.All.Count, RunEventTypes.All.Distinct(StringComparer.Ordinal).Count());
}
