using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>/readyz: the state store answers and its outbox is draining.</summary>
internal sealed class StateReadinessCheck(IStateStore state, IOutboxStore outbox) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await state.PingAsync(cancellationToken).ConfigureAwait(false);
            var waiting = await outbox.CountAsync(cancellationToken).ConfigureAwait(false);
            return HealthCheckResult.Healthy($"{state.Engine} answers", new Dictionary<string, object> { ["engine"] = state.Engine, ["outboxWaiting"] = waiting });
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy($"{state.Engine} does not answer: {ex.GetType().Name}");
        }
    }
}
