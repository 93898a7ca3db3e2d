using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class RetryAndRerunTests
{
    /// <summary>a → b, a → c, b → d, c → d, plus e → f beside it; finally: cleanup.</summary>
    private static PipelineDefinition DiamondWithSideBranch() =>
        Pipeline([Script("a"), Script("b", "a"), Script("c", "a"), Script("d", "b", "c"), Script("e"), Script("f", "e")], [Script("cleanup")]);

    private static RunDriver FinishedRun(PipelineDefinition definition, params string[] failing)
    {
        var run = new RunDriver(definition);
        run.Start();
        var guard = 0;
        while (!run.State.Status.IsTerminal() && guard++ < 100)
        {
            var next = run.State.Steps.Values.First(s => s.Status == StepStatus.Queued);
            var attempt = next.CurrentAttempt!.Number;
            if (failing.Contains(next.StepId))
            {
                run.Crash(next.StepId, attempt);
            }
            else
            {
                run.Pass(next.StepId, attempt, new Dictionary<string, string> { ["out"] = $"{next.StepId}-{attempt}" });
            }
        }

        return run;
    }

    [Fact]
    public void Retry_reruns_failed_steps_and_their_downstream_and_keeps_the_rest()
    {
        var run = FinishedRun(DiamondWithSideBranch(), "b");
        Assert.Equal(RunStatus.Failed, run.State.Status);
        Assert.Equal(StepStatus.Skipped, run.Status("d"));

        Assert.Equal(["b", "cleanup", "d"], run.Machine.RetrySet(run.State).Order(StringComparer.Ordinal));

        run.Apply(new RetryRequested(run.Now));
        Assert.Equal(RunStatus.Running, run.State.Status);
        Assert.Equal(1, run.State.Generation);
        Assert.Equal([new DispatchStep("b", 2, TimeSpan.Zero)], run.Commands.OfType<DispatchStep>());
        Assert.Equal(StepStatus.Waiting, run.Status("d"));
        Assert.Equal(StepStatus.Succeeded, run.Status("c"));
        Assert.Equal("c-1", run.State.Steps["c"].Outputs["out"]); // kept

        run.Pass("b", 2);
        Assert.Equal(["d"], run.Dispatched);
        run.Pass("d", 1);
        run.Pass("cleanup", 2);
        Assert.Equal(RunStatus.Succeeded, run.State.Status);
        Assert.Equal([1, 2], run.State.Steps["b"].Attempts.Select(a => a.Number));
    }

    [Fact]
    public void Retry_includes_cancelled_steps()
    {
        var run = new RunDriver(DiamondWithSideBranch());
        run.Start();
        run.Pass("a");
        run.Apply(new CancelRequested(run.Now)); // b, c, e queued → cancelled; d, f waiting → cancelled
        run.Pass("cleanup");
        Assert.Equal(RunStatus.Cancelled, run.State.Status);

        Assert.Equal(["b", "c", "cleanup", "d", "e", "f"], run.Machine.RetrySet(run.State).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("a", new[] { "a", "b", "c", "cleanup", "d" })]
    [InlineData("b", new[] { "b", "cleanup", "d" })]
    [InlineData("c", new[] { "c", "cleanup", "d" })]
    [InlineData("d", new[] { "cleanup", "d" })]
    [InlineData("e", new[] { "cleanup", "e", "f" })]
    [InlineData("cleanup", new[] { "cleanup" })]
    public void Rerun_from_a_step_takes_its_whole_downstream_closure(string from, string[] expected) =>
        Assert.Equal(expected, new RunStateMachine(DiamondWithSideBranch()).RerunSet(from).Order(StringComparer.Ordinal));

    [Fact]
    public void Rerun_from_keeps_upstream_outputs_and_numbers_attempts_on()
    {
        var run = FinishedRun(DiamondWithSideBranch());
        Assert.Equal(RunStatus.Succeeded, run.State.Status);

        run.Apply(new RerunRequested("c", run.Now));
        Assert.Equal([new DispatchStep("c", 2, TimeSpan.Zero)], run.Commands.OfType<DispatchStep>());
        Assert.Equal("a-1", run.State.Steps["a"].Outputs["out"]);
        Assert.Empty(run.State.Steps["d"].Outputs);

        // A late report from the first pass is stale and ignored.
        Assert.True(run.Succeed("c", 1).Ignored);
    }

    [Fact]
    public void A_succeeded_run_is_not_retried_and_its_finally_steps_do_not_run_again()
    {
        // Retrying a succeeded run used to restart it with only the finally steps (a second "done" notification).
        var run = FinishedRun(DiamondWithSideBranch());
        Assert.Equal(RunStatus.Succeeded, run.State.Status);

        var refused = run.Apply(new RetryRequested(run.Now));
        Assert.True(refused.Ignored);
        Assert.Contains("nothing to retry", refused.IgnoredBecause, StringComparison.Ordinal);
        Assert.Empty(refused.Commands);
        Assert.Equal(RunStatus.Succeeded, run.State.Status);
        Assert.Equal(0, run.State.Generation);

        // Rerun from a step still runs a succeeded run's step again.
        Assert.False(run.Apply(new RerunRequested("d", run.Now)).Ignored);
        Assert.Equal(RunStatus.Running, run.State.Status);
    }

    [Fact]
    public void A_run_that_failed_in_a_finally_step_retries_its_finally_steps()
    {
        var run = FinishedRun(DiamondWithSideBranch(), "cleanup");
        Assert.Equal(RunStatus.Failed, run.State.Status);

        Assert.False(run.Apply(new RetryRequested(run.Now)).Ignored);
        Assert.Equal([new DispatchStep("cleanup", 2, TimeSpan.Zero)], run.Commands.OfType<DispatchStep>());
    }

    [Fact]
    public void Only_a_finished_run_can_be_retried()
    {
        var run = new RunDriver(DiamondWithSideBranch());
        run.Start();
        Assert.True(run.Apply(new RetryRequested(run.Now)).Ignored);
        Assert.True(run.Apply(new RerunRequested("nope", run.Now)).Ignored);
    }
}
