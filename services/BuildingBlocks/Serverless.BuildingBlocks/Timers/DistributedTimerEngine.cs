using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// Fires timers from a Quartz scheduler clustered on PostgreSQL (the distributed profile): every node
/// shares the scheduler name and tables, a trigger is acquired by exactly one node under the cluster's
/// row lock, and a node that stops has its work taken over by the others.
/// </summary>
/// <remarks>
/// At start the node writes each timer's job and makes sure its trigger exists; a trigger computed
/// from another schedule or time zone is replaced, so a changed schedule takes effect then. A trigger
/// whose occurrence passed while every node was down is a misfire, and fires once, now.
/// </remarks>
internal sealed class DistributedTimerEngine(
    TimerRegistry registry,
    [FromKeyedServices(QuartzTimerTriggers.SchedulerName)] ISchedulerFactory schedulers,
    DistributedTimerDatabase database,
    ILogger<DistributedTimerEngine> logger,
    TimerEngineSettings settings) : IHostedService, ITimerEngine, IAsyncDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private IScheduler? _scheduler;
    private Task _watchdog = Task.CompletedTask;
    private readonly RunOnce _stop = new();
    private volatile bool _running;

    public string Engine => "quartz";

    public IReadOnlyList<TimerDescriptor> Timers => registry.Descriptors;

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        if (!_running)
        {
            return false;
        }

        if (_scheduler is null)
        {
            // No timers here: nothing to fire, nothing to be unready about.
            return true;
        }

        return _scheduler.Status == SchedulerStatus.Running && await database.PingAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (registry.Timers.Count == 0)
        {
            // A node with no timers stays out of the cluster: serving no execution group would mean serving all.
            _running = true;
            return;
        }

        await database.EnsureSchemaAsync(cancellationToken).ConfigureAwait(false);
        var scheduler = await schedulers.GetScheduler(cancellationToken).ConfigureAwait(false);
        foreach (var timer in registry.Timers)
        {
            await ReconcileAsync(scheduler, timer, cancellationToken).ConfigureAwait(false);
        }

        await scheduler.Start(cancellationToken).ConfigureAwait(false);
        _scheduler = scheduler;
        _running = true;
        _watchdog = WatchTriggersAsync(scheduler, _stopping.Token);
        logger.LogInformation("Quartz timer engine started as node {Node} with {Count} timer(s)", scheduler.SchedulerInstanceId, registry.Timers.Count);
    }

    /// <summary>
    /// Stops once; every caller waits for that one stop. A test server's disposal stops the host twice at the same
    /// time, and a second Quartz shutdown returns at once while the first is still running — so that caller went on to
    /// dispose the service provider (which the first shutdown's cluster manager still resolves the scheduler from) or
    /// to drop the schema under the job store's last check-in.
    /// </summary>
    public Task StopAsync(CancellationToken cancellationToken) => _stop.Run(() => StopOnceAsync(cancellationToken));

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        _running = false;
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _watchdog.ConfigureAwait(false);
        if (_scheduler is not null)
        {
            // Running functions see their token cancelled (ShutdownJobInterruption) and are waited for.
            await _scheduler.Shutdown(waitForJobsToComplete: true, cancellationToken).ConfigureAwait(false);
        }
    }

    public ValueTask DisposeAsync()
    {
        _stopping.Dispose();
        return ValueTask.CompletedTask;
    }

    private async Task ReconcileAsync(IScheduler scheduler, RegisteredTimer timer, CancellationToken cancellationToken)
    {
        var jobKey = QuartzTimerTriggers.JobKeyOf(timer.Name);
        var job = QuartzTimerTriggers.Job(timer);
        var existingJob = await scheduler.GetJobDetail(jobKey, cancellationToken).ConfigureAwait(false);
        if (existingJob is not null && QuartzTimerTriggers.FunctionOf(existingJob) is { } other && !string.Equals(other, QuartzTimerTriggers.FunctionOf(job), StringComparison.Ordinal))
        {
            logger.LogWarning("Timer {Timer} was stored for function {Other} and is now {Function}: timer names must be unique across every application sharing the schema", timer.Name, other, QuartzTimerTriggers.FunctionOf(job));
        }

        await scheduler.AddJob(job, AddJobOptions.Replacing, cancellationToken).ConfigureAwait(false);

        var now = scheduler.TimeProvider.GetUtcNow();
        var triggerKey = QuartzTimerTriggers.TriggerKeyOf(timer.Name);
        var existing = await scheduler.GetTrigger(triggerKey, cancellationToken).ConfigureAwait(false);
        if (existing is not null && QuartzTimerTriggers.HasSchedule(existing, timer.Schedule))
        {
            if (await scheduler.GetTriggerState(triggerKey, cancellationToken).ConfigureAwait(false) == TriggerState.Error)
            {
                await scheduler.ResetTriggerFromErrorState(triggerKey, cancellationToken).ConfigureAwait(false);
            }

            return;
        }

        var last = existing is null ? null : QuartzTimerTriggers.PendingOf(existing)?.Last;
        var pending = new PendingOccurrence(timer.Schedule.GetNextOccurrence(now), last, IsCatchUp: false);
        var conflict = existing is null ? TriggerConflict.Keep : TriggerConflict.Replace;
        var result = await scheduler.ScheduleTrigger(QuartzTimerTriggers.Trigger(timer, pending, scheduler.TimeProvider), conflict, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            logger.LogInformation("Timer {Timer}: schedule changed to {Schedule}; next occurrence {Next:O}", timer.Name, timer.Schedule, result.NextFireTimeUtc);
        }
    }

    /// <summary>
    /// Restores a timer whose trigger went missing (its job could not reschedule, e.g. the database
    /// failed at that moment), so that one bad moment never stops a timer for good.
    /// </summary>
    private async Task WatchTriggersAsync(IScheduler scheduler, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.WatchdogInterval, scheduler.TimeProvider, stoppingToken).ConfigureAwait(false);
                foreach (var timer in registry.Timers)
                {
                    var key = QuartzTimerTriggers.TriggerKeyOf(timer.Name);
                    var state = await scheduler.GetTriggerState(key, stoppingToken).ConfigureAwait(false);
                    if (state == TriggerState.None)
                    {
                        logger.LogWarning("Timer {Timer} had no trigger; scheduling its next occurrence", timer.Name);
                        var pending = new PendingOccurrence(timer.Schedule.GetNextOccurrence(scheduler.TimeProvider.GetUtcNow()), null, IsCatchUp: false);
                        await scheduler.ScheduleTrigger(QuartzTimerTriggers.Trigger(timer, pending, scheduler.TimeProvider), TriggerConflict.Keep, stoppingToken).ConfigureAwait(false);
                    }
                    else if (state == TriggerState.Error)
                    {
                        await scheduler.ResetTriggerFromErrorState(key, stoppingToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Timer watchdog could not check the triggers; trying again in {Interval}", settings.WatchdogInterval);
            }
        }
    }
}
