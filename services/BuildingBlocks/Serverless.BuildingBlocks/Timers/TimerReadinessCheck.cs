using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>/readyz: the timer engine runs and its store answers.</summary>
internal sealed class TimerReadinessCheck(ITimerEngine engine) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["engine"] = engine.Engine, ["timers"] = engine.Timers.Count };
        return await engine.IsReadyAsync(cancellationToken).ConfigureAwait(false)
            ? HealthCheckResult.Healthy($"{engine.Engine} timer engine runs {engine.Timers.Count} timer(s)", data)
            : HealthCheckResult.Unhealthy($"{engine.Engine} timer engine is not running or its store does not answer", data: data);
    }
}
