namespace Serverless.Pipelines.Runs;

/// <summary>
/// Which changes of a run its running steps' runners must notice: they watch a small stop note of the run (written in the
/// same transaction as the record) instead of reading the whole record again and again, so the rule that decides when the
/// note is written must cover every way a running attempt can stop being the one the runner should finish.
/// </summary>
public static class RunningAttempts
{
    /// <summary>
    /// True when going from <paramref name="before"/> to <paramref name="after"/> (by <paramref name="events"/>) asks a
    /// runner to look at the run: a cancel was newly requested, or an attempt that was queued or running is no longer the
    /// step's unfinished current attempt (timed out, lost, replaced, reset by a rerun...) for any reason other than that
    /// attempt's own completion report, whose runner has already stopped watching when it sends it.
    /// </summary>
    public static bool MustNotice(RunState before, RunState after, IEnumerable<RunEvent> events)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(events);
        if (after.CancelRequested && !before.CancelRequested)
        {
            return true;
        }

        foreach (var (stepId, step) in before.Steps)
        {
            if (step.Status is not (StepStatus.Queued or StepStatus.Running) || step.CurrentAttempt is not { IsFinished: false } attempt)
            {
                continue;
            }

            var still = after.Steps.TryGetValue(stepId, out var now)
                && now.Status is (StepStatus.Queued or StepStatus.Running)
                && now.CurrentAttempt is { IsFinished: false } current
                && current.Number == attempt.Number;
            if (!still && !events.Any(e => e is StepCompleted completed && completed.StepId == stepId && attempt.Answers(completed.Attempt)))
            {
                return true;
            }
        }

        return false;
    }
}
