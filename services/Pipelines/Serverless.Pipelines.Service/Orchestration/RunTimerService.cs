using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>
/// Fires the runs' due timers (step and approval timeouts, waits, retry delays, expired runner leases) from the due index in the state
/// store: they survive restarts, and an entry is consumed in the same transaction that applies it, so two instances
/// never fire one timer twice. Polls, and wakes early when this process stored a timer.
/// </summary>
public sealed partial class RunTimerService(RunStore runs, RunTimerSignal signal, TimeProvider time, ILogger<RunTimerService> logger) : BackgroundService
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var dueKey in await runs.DueKeysAsync(200, stoppingToken).ConfigureAwait(false))
                {
                    var (runId, timerId) = RunStore.ParseDueKey(dueKey);
                    try
                    {
                        if (RunStore.IsDispatchTimer(timerId))
                        {
                            await runs.FireDispatchAsync(runId, timerId, dueKey, stoppingToken).ConfigureAwait(false);
                        }
                        else if (RunStore.IsLeaseTimer(timerId))
                        {
                            // A runner stopped renewing the lease of an attempt: it died, so the attempt is lost and runs again.
                            await runs.ExpireLeaseAsync(runId, timerId, dueKey, stoppingToken).ConfigureAwait(false);
                        }
                        else
                        {
                            await runs.ApplyAsync(runId, new TimerFired(timerId, time.GetUtcNow()), null, stoppingToken, dueKey).ConfigureAwait(false);
                        }
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        LogTimerFailed(logger, ex, dueKey);
                    }
                }

                await signal.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogLoopFailed(logger, ex);
                await Task.Delay(PollInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Firing pipeline timer {DueKey} failed; it stays due and is tried again.")]
    private static partial void LogTimerFailed(ILogger logger, Exception exception, string dueKey);

    [LoggerMessage(Level = LogLevel.Error, Message = "The pipeline timer loop failed; retrying.")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);
}
