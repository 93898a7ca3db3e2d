using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// Runs one firing: the function is resolved from a fresh DI scope, and whatever it throws is logged
/// and swallowed, because a failed run must not stop the timer.
/// </summary>
internal sealed class TimerFunctionRunner(IServiceScopeFactory scopes, ILogger<TimerFunctionRunner> logger)
{
    public async Task RunAsync(TimerDescriptor timer, TimerInfo info, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(info);
        using var activity = ServerlessTelemetry.Source.StartActivity($"timer {timer.Name}");
        activity?.SetTag("serverless.timer.name", timer.Name);
        activity?.SetTag("serverless.timer.scheduled_time", info.ScheduledTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture));
        activity?.SetTag("serverless.timer.past_due", info.IsPastDue);

        var outcome = "succeeded";
        try
        {
            var scope = scopes.CreateAsyncScope();
            await using (scope.ConfigureAwait(false))
            {
                var function = (ITimerFunction)scope.ServiceProvider.GetRequiredService(timer.FunctionType);
                logger.LogDebug("Timer {Timer} firing for {ScheduledTime:O} (past due: {IsPastDue})", timer.Name, info.ScheduledTime, info.IsPastDue);
                await function.RunAsync(info, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            outcome = "cancelled";
            logger.LogInformation("Timer {Timer} run for {ScheduledTime:O} was cancelled by shutdown", timer.Name, info.ScheduledTime);
        }
        catch (Exception ex)
        {
            outcome = "failed";
            activity?.SetStatus(ActivityStatusCode.Error, ex.Message);
            logger.LogError(ex, "Timer {Timer} failed for {ScheduledTime:O}; it keeps its schedule", timer.Name, info.ScheduledTime);
        }

        ServerlessTelemetry.TimerFirings.Add(1, new KeyValuePair<string, object?>("timer", timer.Name), new KeyValuePair<string, object?>("outcome", outcome), new KeyValuePair<string, object?>("past_due", info.IsPastDue));
    }
}
