using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class AttemptsTests
{
    private static PipelineDefinition Flaky(RetryPolicy policy, TimeSpan? timeout = null) =>
        Pipeline([Script("flaky") with { Retries = policy, Timeout = timeout }, Script("after", "flaky")]);

    [Fact]
    public void A_failure_is_retried_as_the_next_attempt_with_exponential_backoff_until_the_limit()
    {
        var run = new RunDriver(Flaky(new RetryPolicy { Limit = 2, Backoff = TimeSpan.FromSeconds(2), Exponential = true }));
        run.Start();
        run.Crash("flaky", 1);
        Assert.Equal(new DispatchStep("flaky", 2, TimeSpan.FromSeconds(2)), Assert.Single(run.Commands.OfType<DispatchStep>()));
        Assert.Equal(StepStatus.Queued, run.Status("flaky"));

        run.Crash("flaky", 2);
        Assert.Equal(new DispatchStep("flaky", 3, TimeSpan.FromSeconds(4)), Assert.Single(run.Commands.OfType<DispatchStep>()));

        run.Crash("flaky", 3);
        Assert.Empty(run.Dispatched);
        Assert.Equal(StepStatus.Failed, run.Status("flaky"));
        Assert.Equal(StepStatus.Skipped, run.Status("after"));
        Assert.Equal([1, 2, 3], run.State.Steps["flaky"].Attempts.Select(a => a.Number));
        Assert.All(run.State.Steps["flaky"].Attempts, a => Assert.Equal(AttemptOutcome.Failed, a.Outcome));
    }

    [Fact]
    public void A_retried_step_that_then_succeeds_releases_its_dependents()
    {
        var run = new RunDriver(Flaky(new RetryPolicy { Limit = 1 }));
        run.Start();
        run.Crash("flaky", 1);
        run.Pass("flaky", 2);
        Assert.Equal(["after"], run.Dispatched);
        Assert.Equal(StepStatus.Succeeded, run.Status("flaky"));
    }

    [Fact]
    public void A_timeout_cancels_the_attempt_and_retries_only_when_the_policy_says_timeout()
    {
        var run = new RunDriver(Flaky(new RetryPolicy { Limit = 3, On = [RetryOn.Timeout] }, TimeSpan.FromMinutes(5)));
        run.Start();
        run.Started("flaky", 1);
        Assert.Equal(new StartTimer("timeout:flaky:1", RunDriver.T0.AddMinutes(5)), Assert.Single(run.Commands.OfType<StartTimer>()));

        run.Now = RunDriver.T0.AddMinutes(5);
        run.Apply(new TimerFired("timeout:flaky:1", run.Now));
        Assert.Contains(new CancelStep("flaky", 1), run.Commands);
        Assert.Equal(new DispatchStep("flaky", 2, TimeSpan.Zero), Assert.Single(run.Commands.OfType<DispatchStep>()));
        Assert.Equal(AttemptOutcome.TimedOut, run.State.Steps["flaky"].Attempts[0].Outcome);

        // The runner's late report for the timed-out attempt is a duplicate now.
        Assert.True(run.Apply(new StepCompleted("flaky", 1, StepOutcome.Cancelled, run.Now)).Ignored);

        // On failure the policy (timeout only) does not retry.
        run.Crash("flaky", 2);
        Assert.Equal(StepStatus.Failed, run.Status("flaky"));
    }

    [Fact]
    public void A_completion_for_an_attempt_already_recorded_is_ignored()
    {
        var run = new RunDriver(Pipeline([Script("a"), Script("b", "a")]));
        run.Start();
        run.Pass("a");
        var before = run.State;

        var duplicate = run.Succeed("a");
        Assert.True(duplicate.Ignored);
        Assert.Empty(duplicate.Commands);
        Assert.Same(before, duplicate.State);

        var late = run.Fail("a");
        Assert.True(late.Ignored);
        Assert.Equal(StepStatus.Succeeded, run.Status("a"));
    }

    [Fact]
    public void A_completion_for_a_stale_attempt_is_ignored()
    {
        var run = new RunDriver(Flaky(new RetryPolicy { Limit = 1 }));
        run.Start();
        run.Crash("flaky", 1);
        var stale = run.Succeed("flaky", 1);
        Assert.True(stale.Ignored);
        Assert.Equal(StepStatus.Queued, run.Status("flaky"));
    }

    [Fact]
    public void A_second_start_after_a_crash_is_recorded_as_a_new_attempt()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Timeout = TimeSpan.FromMinutes(1) }]));
        run.Start();
        run.Started("a", 1);
        run.Now = RunDriver.T0.AddSeconds(20);
        var restart = run.Started("a", 1);

        var attempts = run.State.Steps["a"].Attempts;
        Assert.Equal(2, attempts.Count);
        Assert.Equal(AttemptOutcome.Lost, attempts[0].Outcome);
        Assert.Equal(new StepAttempt { Number = 2, QueuedAt = run.Now, StartedAt = run.Now, RestartOf = 1 }, attempts[1]);
        Assert.Contains(new CancelTimer("timeout:a:1"), restart.Commands);
        Assert.Contains(new StartTimer("timeout:a:2", run.Now.AddMinutes(1)), restart.Commands);

        // The runner still reports as attempt 1; it lands on the attempt that replaced it.
        run.Succeed("a", 1);
        Assert.Equal(AttemptOutcome.Succeeded, run.State.Steps["a"].Attempts[1].Outcome);
        Assert.Equal(RunStatus.Succeeded, run.State.Status);
    }

    [Fact]
    public void An_end_report_that_overtakes_its_start_report_still_records_when_the_attempt_started()
    {
        var run = new RunDriver(Pipeline([Script("a")]));
        run.Start();
        var startedAt = run.Now.AddMilliseconds(5);
        run.Now = run.Now.AddMilliseconds(40);
        run.Apply(new StepCompleted("a", 1, StepOutcome.Succeeded, run.Now) { StartedAt = startedAt });
        Assert.True(run.Started("a", 1).Ignored); // the late start report changes nothing

        var attempt = Assert.Single(run.State.Steps["a"].Attempts);
        Assert.Equal(startedAt, attempt.StartedAt);
        Assert.Equal(AttemptOutcome.Succeeded, attempt.Outcome);
    }

    [Fact]
    public void A_lapsed_lease_records_the_attempt_lost_and_dispatches_a_new_one_whose_reports_alone_count()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Timeout = TimeSpan.FromMinutes(5), Retries = new RetryPolicy { Limit = 1 } }, Script("b", "a")]));
        run.Start();
        run.Started("a", 1);
        run.Now = RunDriver.T0.AddMinutes(2);
        var lost = run.Apply(new StepLost("a", 1, run.Now));

        var attempts = run.State.Steps["a"].Attempts;
        Assert.Equal(AttemptOutcome.Lost, attempts[0].Outcome);
        Assert.Equal(new StepAttempt { Number = 2, QueuedAt = run.Now, RestartOf = 1, Redispatched = true }, attempts[1]);
        Assert.Equal(StepStatus.Queued, run.Status("a"));
        Assert.Equal(0, run.State.Steps["a"].RetriesUsed); // a crash does not use up a retry
        Assert.Contains(new CancelTimer("timeout:a:1"), lost.Commands);
        Assert.Equal(new DispatchStep("a", 2, TimeSpan.Zero), Assert.Single(lost.Commands.OfType<DispatchStep>()));

        // The lost runner's late reports are stale (it may still be alive); the new attempt's count.
        Assert.True(run.Started("a", 1).Ignored);
        Assert.True(run.Succeed("a", 1).Ignored);
        Assert.True(run.Apply(new StepLost("a", 1, run.Now)).Ignored);
        run.Started("a", 2);
        Assert.Contains(new StartTimer("timeout:a:2", run.Now.AddMinutes(5)), run.Commands);
        run.Succeed("a", 2);
        Assert.Equal(["b"], run.Dispatched);
    }

    [Fact]
    public void A_lapsed_lease_of_an_attempt_that_never_reported_its_start_is_lost_too()
    {
        var run = new RunDriver(Pipeline([Script("a")]));
        run.Start();
        var lost = run.Apply(new StepLost("a", 1, run.Now));
        Assert.False(lost.Ignored);
        Assert.Equal(AttemptOutcome.Lost, run.State.Steps["a"].Attempts[0].Outcome);
        Assert.Equal(["a"], run.Dispatched);
    }

    [Fact]
    public void A_step_lost_five_times_in_a_row_fails_instead_of_being_dispatched_for_ever()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Retries = new RetryPolicy { Limit = 3 } }, Script("b", "a")], [Script("cleanup")]));
        run.Start();
        for (var attempt = 1; attempt < RunStateMachine.MaxLostInARow; attempt++)
        {
            run.Started("a", attempt);
            run.Apply(new StepLost("a", attempt, run.Now));
            Assert.Equal(StepStatus.Queued, run.Status("a"));
        }

        var last = run.Apply(new StepLost("a", RunStateMachine.MaxLostInARow, run.Now));

        Assert.Equal(StepStatus.Failed, run.Status("a"));
        Assert.Contains("lost 5 times in a row", run.State.Steps["a"].Reason, StringComparison.Ordinal);
        Assert.All(run.State.Steps["a"].Attempts, a => Assert.Equal(AttemptOutcome.Lost, a.Outcome));
        Assert.DoesNotContain(last.Commands.OfType<DispatchStep>(), d => d.StepId == "a");
        Assert.Equal(StepStatus.Skipped, run.Status("b"));
        Assert.Contains("cleanup", run.Dispatched);
    }

    [Fact]
    public void Lost_attempts_count_only_in_a_row()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Retries = new RetryPolicy { Limit = 1 } }]));
        run.Start();
        for (var attempt = 1; attempt < RunStateMachine.MaxLostInARow; attempt++)
        {
            run.Apply(new StepLost("a", attempt, run.Now));
        }

        // A real result in between (a failure that is retried) starts the count again.
        run.Started("a", RunStateMachine.MaxLostInARow);
        run.Apply(new StepCompleted("a", RunStateMachine.MaxLostInARow, StepOutcome.Failed, run.Now));
        run.Apply(new StepLost("a", RunStateMachine.MaxLostInARow + 1, run.Now));
        Assert.Equal(StepStatus.Queued, run.Status("a"));
    }

    [Fact]
    public void Hand_overs_by_stopped_runners_say_so_and_do_not_count_as_losses()
    {
        var run = new RunDriver(Pipeline([Script("a")]));
        run.Start();

        // Many graceful stops (a deploy each) during one step: the step keeps being dispatched.
        var handOvers = RunStateMachine.MaxLostInARow * 2;
        for (var attempt = 1; attempt <= handOvers; attempt++)
        {
            run.Started("a", attempt);
            run.Apply(new StepLost("a", attempt, run.Now) { HandedOver = true });
            Assert.Equal(StepStatus.Queued, run.Status("a"));
        }

        var handedOver = run.State.Steps["a"].Attempts[0];
        Assert.Equal((AttemptOutcome.Lost, true, "its runner was stopped and handed the attempt over"), (handedOver.Outcome, handedOver.HandedOver, handedOver.Error));

        // Crashes still count, hand-overs between them or not.
        for (var attempt = handOvers + 1; attempt < handOvers + RunStateMachine.MaxLostInARow; attempt++)
        {
            run.Started("a", attempt);
            run.Apply(new StepLost("a", attempt, run.Now));
            Assert.Equal(StepStatus.Queued, run.Status("a"));
        }

        Assert.Equal("the runner stopped renewing its lease", run.State.Steps["a"].Attempts[^2].Error);
        run.Apply(new StepLost("a", handOvers + RunStateMachine.MaxLostInARow, run.Now));
        Assert.Equal(StepStatus.Failed, run.Status("a"));
    }

    [Fact]
    public void A_lapsed_lease_of_a_finished_attempt_changes_nothing()
    {
        var run = new RunDriver(Pipeline([Script("a")]));
        run.Start();
        run.Pass("a", 1);
        Assert.True(run.Apply(new StepLost("a", 1, run.Now)).Ignored);
        Assert.Equal(RunStatus.Succeeded, run.State.Status);
    }

    [Fact]
    public void A_lapsed_lease_while_the_run_is_cancelling_cancels_the_step_and_runs_finally()
    {
        var run = new RunDriver(Pipeline([Script("a")], [Script("cleanup")]));
        run.Start();
        run.Started("a", 1);
        run.Apply(new CancelRequested(run.Now));
        Assert.Equal(StepStatus.Running, run.Status("a")); // waiting for the runner to confirm; it died instead

        run.Apply(new StepLost("a", 1, run.Now));
        Assert.Equal(StepStatus.Cancelled, run.Status("a"));
        Assert.Equal(AttemptOutcome.Lost, Assert.Single(run.State.Steps["a"].Attempts).Outcome);
        Assert.Equal(["cleanup"], run.Dispatched);
    }
}
