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

/// <summary>
/// Bounds a /readyz check by <see cref="HttpOptions.ReadinessTimeout"/>: its token is cancelled then, and its answer is no
/// longer waited for even when the work under it cannot be cancelled (a SQLite call, a connection that hangs).
/// </summary>
internal sealed class BoundedReadinessCheck(IHealthCheck inner, TimeSpan timeout) : IHealthCheck
{
    /// <summary>Wraps every check tagged <c>ready</c>, modules' own included, whenever they were registered.</summary>
    public static void Bound(HealthCheckServiceOptions options, TimeSpan timeout)
    {
        foreach (var registration in options.Registrations.Where(r => r.Tags.Contains("ready")))
        {
            var factory = registration.Factory;
            registration.Factory = services => new BoundedReadinessCheck(factory(services), timeout);
        }
    }

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        var check = inner.CheckHealthAsync(context, bounded.Token);
        try
        {
            return await check.WaitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The abandoned check may still fail later; its exception is observed here so it is not reported as unobserved.
            _ = check.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            return new HealthCheckResult(context.Registration.FailureStatus, $"no answer within {timeout.TotalSeconds:0.###} s");
        }
    }
}
