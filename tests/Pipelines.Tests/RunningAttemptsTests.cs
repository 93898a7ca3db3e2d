using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

/// <summary>
/// When a run's stop note changes (<see cref="RunningAttempts.MustNotice"/>): running steps' runners read their run again
/// only then, so every way a running attempt stops being theirs must count, and the usual reports must not.
/// </summary>
public sealed class RunningAttemptsTests
{
    private static bool Notices(RunDriver run, RunEvent runEvent)
    {
        var before = run.State;
        run.Apply(runEvent);
        return RunningAttempts.MustNotice(before, run.State, [runEvent]);
    }

    private static RunDriver Running(params StepSpec[] steps)
    {
        var run = new RunDriver(Pipeline(steps, [Script("cleanup")]));
        run.Start();
        foreach (var step in steps)
        {
            run.Started(step.Id);
        }

        return run;
    }

    [Fact]
    public void The_usual_reports_are_not_noticed_even_when_a_failure_queues_a_retry()
    {
        var run = new RunDriver(Pipeline([Script("a") with { Retries = new RetryPolicy { Limit = 1 } }, Script("b"), Script("c", "a", "b")]));
        Assert.False(Notices(run, new RunStarted(run.Now)));
        Assert.False(Notices(run, new StepStarted("a", 1, run.Now)));
        Assert.False(Notices(run, new StepStarted("b", 1, run.Now)));
        Assert.False(Notices(run, new StepCompleted("b", 1, StepOutcome.Succeeded, run.Now)));

        // Attempt 1 of a fails and attempt 2 is queued: the runner that sent the report is no longer watching.
        Assert.False(Notices(run, new StepCompleted("a", 1, StepOutcome.Failed, run.Now)));
        Assert.Equal(2, run.State.Steps["a"].CurrentAttempt!.Number);
    }

    [Fact]
    public void A_report_of_one_step_is_not_a_stop_for_the_others()
    {
        var run = Running(Script("a"), Script("b"));
        Assert.False(Notices(run, new StepCompleted("b", 1, StepOutcome.Failed, run.Now)));
        Assert.Equal(StepStatus.Running, run.Status("a"));
    }

    [Fact]
    public void A_cancel_is_noticed_once()
    {
        var run = Running(Script("a"));
        Assert.True(Notices(run, new CancelRequested(run.Now)));
        Assert.False(Notices(run, new CancelRequested(run.Now)));
    }

    [Fact]
    public void A_timeout_decided_by_the_orchestrator_is_noticed()
    {
        var run = Running(Script("a") with { Timeout = TimeSpan.FromMinutes(5) }, Script("b"));
        run.Now = RunDriver.T0.AddMinutes(5);
        Assert.True(Notices(run, new TimerFired("timeout:a:1", run.Now)));
        Assert.Equal(AttemptOutcome.TimedOut, run.State.Steps["a"].Attempts[0].Outcome);
    }

    [Fact]
    public void A_lost_lease_and_a_restart_under_a_new_number_are_noticed()
    {
        var run = Running(Script("a"), Script("b"));
        Assert.True(Notices(run, new StepLost("a", 1, run.Now)));

        // A second start of b's attempt 1 (its runner crashed and the dispatch came again) replaces the attempt.
        Assert.True(Notices(run, new StepStarted("b", 1, run.Now)));
        Assert.Equal(2, run.State.Steps["b"].CurrentAttempt!.Number);
    }

    [Fact]
    public void A_completion_excuses_only_its_own_attempt()
    {
        var run = Running(Script("a") with { Timeout = TimeSpan.FromMinutes(5) });
        var before = run.State;
        run.Now = RunDriver.T0.AddMinutes(5);
        var timeout = new TimerFired("timeout:a:1", run.Now);
        run.Apply(timeout);

        Assert.True(RunningAttempts.MustNotice(before, run.State, [timeout, new StepCompleted("b", 1, StepOutcome.Succeeded, run.Now)]));
        Assert.True(RunningAttempts.MustNotice(before, run.State, [timeout, new StepCompleted("a", 2, StepOutcome.Succeeded, run.Now)]));
        Assert.False(RunningAttempts.MustNotice(before, run.State, [timeout, new StepCompleted("a", 1, StepOutcome.Succeeded, run.Now)]));
    }
}
