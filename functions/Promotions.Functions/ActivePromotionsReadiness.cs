using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serverless.Promotions.Service.Active;

namespace Serverless.Promotions.Functions;

/// <summary>/readyz: not ready until the first active snapshot is loaded, so a fresh instance never prices baskets without promotions.</summary>
public sealed class ActivePromotionsReadiness(ActivePromotions active) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var view = active.Current;
        return Task.FromResult(view.Version is null
            ? HealthCheckResult.Unhealthy("the active promotions are not loaded yet")
            : HealthCheckResult.Healthy($"{view.Records.Count} active promotions", new Dictionary<string, object> { ["active"] = view.Records.Count, ["exhausted"] = view.Exhausted.Count }));
    }
}
