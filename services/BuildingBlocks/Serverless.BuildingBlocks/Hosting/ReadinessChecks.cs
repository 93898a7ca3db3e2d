using Microsoft.Extensions.Diagnostics.HealthChecks;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>/readyz: the state store answers and its outbox is draining.</summary>
internal sealed class StateReadinessCheck(IStateStore state, IOutboxStore outbox) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await CheckOnceAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // After a PostgreSQL restart the ping drops the pool's idle connections, but one that was in use then can
            // still come back broken and fail the count (seen once in CI): a second try takes a fresh one. A store that
            // is really down fails both.
            try
            {
                return await CheckOnceAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception again) when (again is not OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy($"{state.Engine} does not answer: {again.GetType().Name}");
            }
        }
    }

    private async Task<HealthCheckResult> CheckOnceAsync(CancellationToken cancellationToken)
    {
        await state.PingAsync(cancellationToken).ConfigureAwait(false);
        var waiting = await outbox.CountAsync(cancellationToken).ConfigureAwait(false);
        return HealthCheckResult.Healthy($"{state.Engine} answers", new Dictionary<string, object> { ["engine"] = state.Engine, ["outboxWaiting"] = waiting });
    }
}

/// <summary>/readyz: the bus is started and connected to its transport.</summary>
internal sealed class PubSubReadinessCheck(IPubSubHealth pubSub, ServerlessOptions options) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var transport = options.Profile == ServerlessProfile.Embedded ? "MassTransit in-memory + SQLite ledger" : "RabbitMQ";
        return await pubSub.IsReadyAsync(cancellationToken).ConfigureAwait(false)
            ? HealthCheckResult.Healthy($"{transport} connected")
            : HealthCheckResult.Unhealthy($"{transport} not connected");
    }
}
