using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// Fires timers in this process (the embedded profile). Each timer is one loop: wait for its pending
/// occurrence, record it as fired in the state store, run the function, then wait for the next
/// occurrence counted from when the firing started. Runs of one timer are sequential, so they never
/// overlap; the status kept under <c>timers||{name}</c> lets a restart fire one past-due catch-up.
/// </summary>
internal sealed class EmbeddedTimerEngine(
    TimerRegistry registry,
    IStateStore store,
    TimerFunctionRunner runner,
    TimerEngineSettings settings,
    TimeProvider time,
    ILogger<EmbeddedTimerEngine> logger) : BackgroundService, ITimerEngine
{
    /// <summary>Long waits are taken in naps, so a wall-clock adjustment is noticed within one.</summary>
    private static readonly TimeSpan LongestNap = TimeSpan.FromMinutes(1);

    private volatile bool _running;

    public string Engine => "embedded";

    public IReadOnlyList<TimerDescriptor> Timers => registry.Descriptors;

    public static string StateKey(string timerName) => StateKeys.Join("timers", timerName);

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken = default)
    {
        if (!_running)
        {
            return false;
        }

        try
        {
            await store.PingAsync(cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return false;
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _running = true;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _running = false;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(registry.Timers.Select(timer => RunTimerAsync(timer, stoppingToken)));

    private async Task RunTimerAsync(RegisteredTimer timer, CancellationToken stoppingToken)
    {
        // Let the host finish starting before the first state-store round trip.
        await Task.Yield();
        var key = StateKey(timer.Name);
        PendingOccurrence? pending = null;
        string? etag = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (pending is null)
                {
                    (pending, etag) = await ResumeAsync(timer, key, stoppingToken).ConfigureAwait(false);
                }

                await WaitUntilAsync(pending.Occurrence, stoppingToken).ConfigureAwait(false);
                var info = TimerFiringRules.Describe(timer.Name, timer.Schedule, pending, time.GetUtcNow(), settings.PastDueThreshold);

                // Recorded before the run, with the ETag read: a second process on the same store loses
                // this write instead of firing the occurrence again, and a run cut short by a crash is
                // not repeated on restart (the schedule moves on).
                var status = new TimerScheduleStatus(timer.Schedule.Expression, timer.Schedule.TimeZone.Id, info.ScheduledTime, info.Next, time.GetUtcNow());
                etag = await store.SaveJsonAsync(key, status, new StateWriteOptions(ETag: etag), stoppingToken).ConfigureAwait(false);

                await runner.RunAsync(timer.Descriptor, info, stoppingToken).ConfigureAwait(false);
                pending = TimerFiringRules.After(info);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (ETagMismatchException)
            {
                logger.LogWarning("Timer {Timer}: its status was changed by another process; re-reading it", timer.Name);
                pending = null;
            }
            catch (Exception ex)
            {
                logger.LogError(ex, "Timer {Timer}: the state store failed; retrying in {Delay}", timer.Name, settings.StoreRetryDelay);
                pending = null;
                try
                {
                    await Task.Delay(settings.StoreRetryDelay, time, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    private async Task<(PendingOccurrence Pending, string? ETag)> ResumeAsync(RegisteredTimer timer, string key, CancellationToken cancellationToken)
    {
        var stored = await store.GetJsonAsync<TimerScheduleStatus>(key, cancellationToken).ConfigureAwait(false);
        var now = time.GetUtcNow();
        var pending = TimerFiringRules.Resume(stored?.Value, timer.Schedule, now);
        if (pending.IsCatchUp)
        {
            logger.LogInformation("Timer {Timer} missed {Occurrence:O} while stopped; firing it once now, past due", timer.Name, pending.Occurrence);
        }

        if (stored is not null && TimerFiringRules.IsSameSchedule(stored.Value, timer.Schedule))
        {
            return (pending, stored.ETag);
        }

        if (stored is not null)
        {
            logger.LogInformation("Timer {Timer}: schedule changed from \"{Old}\" to \"{New}\"; next occurrence {Next:O}", timer.Name, stored.Value.Schedule, timer.Schedule, pending.Occurrence);
        }

        // Remember the expected occurrence now, so that it is caught up if the process stops before it.
        var status = new TimerScheduleStatus(timer.Schedule.Expression, timer.Schedule.TimeZone.Id, pending.Last, pending.Occurrence, now);
        var options = stored is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: stored.ETag);
        var etag = await store.SaveJsonAsync(key, status, options, cancellationToken).ConfigureAwait(false);
        return (pending, etag);
    }

    private async Task WaitUntilAsync(DateTimeOffset due, CancellationToken cancellationToken)
    {
        while (true)
        {
            var remaining = due - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(remaining < LongestNap ? remaining : LongestNap, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
