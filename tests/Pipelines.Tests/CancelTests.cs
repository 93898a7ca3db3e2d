using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class CancelTests
{
    [Fact]
    public void Cancel_stops_running_steps_cancels_waiting_ones_and_still_runs_finally()
    {
        var definition = Pipeline([Script("a"), Script("b"), Script("c", "a", "b")], [Script("cleanup")]);
        var run = new RunDriver(definition);
        run.Start();
        run.Started("a");

        var cancel = run.Apply(new CancelRequested(run.Now));
        Assert.Contains(new CancelStep("a", 1), cancel.Commands);
        Assert.Contains(new CancelStep("b", 1), cancel.Commands); // queued, never started
        Assert.Equal(StepStatus.Running, run.Status("a")); // until the runner confirms
        Assert.Equal(StepStatus.Cancelled, run.Status("b"));
        Assert.Equal(StepStatus.Cancelled, run.Status("c"));
        Assert.Empty(run.Dispatched);

        run.Apply(new StepCompleted("a", 1, StepOutcome.Cancelled, run.Now));
        Assert.Equal(["cleanup"], run.Dispatched);
        run.Pass("cleanup");
        Assert.Equal(RunStatus.Cancelled, run.State.Status);
    }

    [Fact]
    public void Cancel_skips_default_finally_conditions_only_if_they_ask()
    {
        var definition = Pipeline([Script("a")], [Script("always"), Script("only-if-not-cancelled") with { When = "!cancelled()" }]);
        var run = new RunDriver(definition);
        run.Start();
        run.Apply(new CancelRequested(run.Now));
        Assert.Equal(["always"], run.Dispatched);
        Assert.Equal(StepStatus.Skipped, run.Status("only-if-not-cancelled"));
    }

    [Fact]
    public void A_second_cancel_and_a_cancel_after_the_end_are_ignored()
    {
        var run = new RunDriver(Pipeline([Script("a")]));
        run.Start();
        Assert.False(run.Apply(new CancelRequested(run.Now)).Ignored);
        Assert.True(run.Apply(new CancelRequested(run.Now)).Ignored);
        Assert.Equal(RunStatus.Cancelled, run.State.Status);
        Assert.True(run.Apply(new CancelRequested(run.Now)).Ignored);
    }

    [Fact]
    public void A_cancelled_step_is_not_retried()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Retries = new RetryPolicy { Limit = 3 } }]));
        run.Start();
        run.Started("a");
        run.Apply(new CancelRequested(run.Now));
        run.Fail("a");
        Assert.Empty(run.Dispatched);
        Assert.Equal(StepStatus.Failed, run.Status("a"));
        Assert.Equal(RunStatus.Cancelled, run.State.Status);
    }
}
