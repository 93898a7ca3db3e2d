using System.Collections.Concurrent;
using Azure.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// Runs due deliveries. Each claimed delivery is its own task, bounded globally and per endpoint, so one slow or
/// dead endpoint only ever occupies its own slots; an endpoint's circuit breaker and rate limit push its deliveries
/// back without an attempt. 410 Gone, or failing for the disable period (<see cref="EndpointFailureClock"/>), disables the endpoint and
/// publishes <c>webhook.endpoint.disabled</c>.
/// </summary>
public sealed partial class DeliveryDispatcher(
    DeliveryBook book,
    EndpointRegistry endpoints,
    DeliveryAttempter attempter,
    DeliverySignal signal,
    EndpointFailureClock failureClock,
    IEventPublisher publisher,
    TimeProvider time,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    public const string EndpointDisabledTopic = "webhook.endpoint.disabled";
    private const int MaxInFlight = 64;
    private const int MaxInFlightPerEndpoint = 4;
    private const int StateKeysPerScan = 1000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    private readonly SemaphoreSlim _slots = new(MaxInFlight, MaxInFlight);
    private readonly ConcurrentDictionary<string, int> _perEndpoint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EndpointCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (int Rate, EndpointRateLimiter Limiter)> _limiters = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var started = 0;
                foreach (var dueKey in await book.DueKeysAsync(StateKeysPerScan, stoppingToken).ConfigureAwait(false))
                {
                    // Pass over entries already being run and endpoints that have their share in flight: their
                    // entries wait, everyone else's go ahead.
                    var endpointId = DeliveryBook.EndpointOf(dueKey);
                    if (_running.ContainsKey(dueKey) || _perEndpoint.GetValueOrDefault(endpointId) >= MaxInFlightPerEndpoint)
                    {
                        continue;
                    }

                    await _slots.WaitAsync(stoppingToken).ConfigureAwait(false);
                    _running[dueKey] = 0;
                    _perEndpoint.AddOrUpdate(endpointId, 1, (_, n) => n + 1);
                    started++;
                    _ = Task.Run(() => RunAsync(dueKey, endpointId, stoppingToken), CancellationToken.None);
                }

                if (started == 0)
                {
                    await signal.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false);
                }
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

    private async Task RunAsync(string dueKey, string endpointId, CancellationToken stoppingToken)
    {
        try
        {
            if (await book.ClaimAsync(dueKey, stoppingToken).ConfigureAwait(false) is not { } claimed)
            {
                return;
            }

            await AttemptAsync(claimed.Record, claimed.LeaseKey, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the lease brings the delivery back.
        }
        catch (Exception ex)
        {
            LogDeliveryFailed(logger, ex, dueKey);
        }
        finally
        {
            _perEndpoint.AddOrUpdate(endpointId, 0, (_, n) => n - 1);
            _running.TryRemove(dueKey, out _);
            _slots.Release();
            signal.Notify();
        }
    }

    private async Task AttemptAsync(DeliveryRecord record, string leaseKey, CancellationToken stoppingToken)
    {
        var now = time.GetUtcNow();
        var endpoint = await endpoints.GetForDeliveryAsync(record.EndpointId, stoppingToken).ConfigureAwait(false);
        if (endpoint is null || !endpoint.Enabled)
        {
            var reason = endpoint is null ? "the endpoint was deleted" : "the endpoint is disabled";
            await book.SettleAsync(record with { Status = DeliveryStatus.Failed, LastError = reason, UpdatedAt = now }, leaseKey, null, stoppingToken).ConfigureAwait(false);
            return;
        }

        var breaker = _breakers.GetOrAdd(endpoint.Id, _ => new EndpointCircuitBreaker());
        var gate = breaker.TryAcquire(now);
        var notBefore = gate.Allowed ? (DateTimeOffset?)null : gate.NotBefore;
        if (gate.Allowed && endpoint.RateLimitPerSecond is { } rate)
        {
            var limiter = _limiters.AddOrUpdate(endpoint.Id, _ => (rate, new EndpointRateLimiter(rate, now)), (_, l) => l.Rate == rate ? l : (rate, new EndpointRateLimiter(rate, now))).Limiter;
            var decision = limiter.TryAcquire(now);
            notBefore = decision.Allowed ? null : decision.NextSendAt;
        }

        if (notBefore is { } later)
        {
            await book.SettleAsync(record with { NextAttemptAt = later, UpdatedAt = now }, leaseKey, null, stoppingToken).ConfigureAwait(false);
            return;
        }

        var attemptNumber = record.Attempts + 1;
        var (attempt, next) = await attempter.AttemptAsync(endpoint, record.Id, record.EventId, record.CloudEventJson, attemptNumber, stoppingToken).ConfigureAwait(false);
        var after = time.GetUtcNow();
        var shouldDisable = false;
        if (next is NextStep.Delivered)
        {
            breaker.RecordSuccess(after);
            await failureClock.RecordSuccessAsync(endpoint.Id, stoppingToken).ConfigureAwait(false);
        }
        else
        {
            breaker.RecordFailure(after);
            shouldDisable = (await failureClock.RecordFailureAsync(endpoint.Id, after, stoppingToken).ConfigureAwait(false)).ShouldDisable;
        }

        var updated = next switch
        {
            NextStep.Delivered => record with { Status = DeliveryStatus.Delivered, Attempts = attemptNumber, LastError = null, UpdatedAt = after },
            NextStep.RetryAt retry => record with { Attempts = attemptNumber, NextAttemptAt = retry.At, LastError = Describe(attempt), UpdatedAt = after },
            NextStep.Failed failed => record with { Status = DeliveryStatus.Failed, Attempts = attemptNumber, LastError = failed.Reason, UpdatedAt = after },
            NextStep.DisableEndpoint disable => record with { Status = DeliveryStatus.Failed, Attempts = attemptNumber, LastError = disable.Reason, UpdatedAt = after },
            _ => throw new InvalidOperationException("Unknown next step."),
        };
        await book.SettleAsync(updated, leaseKey, attempt, stoppingToken).ConfigureAwait(false);

        var disableReason = next is NextStep.DisableEndpoint d ? d.Reason : shouldDisable ? $"no delivery has succeeded for {failureClock.DisableAfter}" : null;
        if (disableReason is not null && await endpoints.SetEnabledAsync(endpoint.Id, false, disableReason, stoppingToken).ConfigureAwait(false) is not null)
        {
            await publisher.PublishAsync(EndpointDisabledTopic, CloudEventJson.Create("/webhooks/endpoints", EndpointDisabledTopic, new { endpointId = endpoint.Id, url = endpoint.Url, reason = disableReason }, endpoint.Id), stoppingToken).ConfigureAwait(false);
        }
    }

    private static string Describe(DeliveryAttempt attempt) => attempt.StatusCode is { } status ? $"HTTP {status}" : attempt.Error ?? "failed";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery dispatch loop failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running due delivery {DueKey} failed; its lease brings it back")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception error, string dueKey);

    public override void Dispose()
    {
        _slots.Dispose();
        base.Dispose();
    }
}
