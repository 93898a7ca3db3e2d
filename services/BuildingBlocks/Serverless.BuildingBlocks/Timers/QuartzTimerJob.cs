using Microsoft.Extensions.Logging;
using Quartz;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// The Quartz job behind every timer. It replaces its own trigger with the next occurrence before
/// running the function: with <see cref="DisallowConcurrentExecutionAttribute"/> that trigger waits for
/// this run to end wherever it is acquired, so runs never overlap and an overrun yields one late firing;
/// and should this node die mid-run, the next occurrence is already in the cluster's tables.
/// </summary>
[DisallowConcurrentExecution]
internal sealed class QuartzTimerJob(TimerRegistry registry, TimerFunctionRunner runner, TimerEngineSettings settings, ILogger<QuartzTimerJob> logger) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var name = context.JobDetail.Key.Name;
        if (!registry.TryGet(name, out var timer))
        {
            // Execution groups keep this from happening; a trigger left by a removed timer ends here.
            logger.LogError("Timer {Timer} fired on a node that does not register it; it is not run or rescheduled here", name);
            return;
        }

        var time = context.Scheduler.TimeProvider;
        var firedAt = time.GetUtcNow();
        var pending = QuartzTimerTriggers.PendingOf(context.Trigger) ?? new PendingOccurrence(context.ScheduledFireTimeUtc ?? firedAt, null, IsCatchUp: false);
        var info = TimerFiringRules.Describe(name, timer.Schedule, pending, firedAt, settings.PastDueThreshold);

        try
        {
            var next = QuartzTimerTriggers.Trigger(timer, TimerFiringRules.After(info), time);
            await context.Scheduler.ScheduleTrigger(next, TriggerConflict.Replace, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The watchdog restores a missing trigger; this occurrence still runs.
            logger.LogError(ex, "Timer {Timer}: could not schedule the occurrence after {ScheduledTime:O}", name, info.ScheduledTime);
        }

        await runner.RunAsync(timer.Descriptor, info, cancellationToken).ConfigureAwait(false);
    }
}
