using System.Collections.Concurrent;
using Azure.Messaging;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;
using Serverless.Webhooks.Service.RateLimiting;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// Runs due deliveries. Each claimed delivery is its own task, bounded globally and per endpoint, so one slow or
/// dead endpoint only ever occupies its own slots; an endpoint's circuit breaker pushes its deliveries back without an
/// attempt, and so does its rate limit unless the time it gives is soon (the limit is shared by every instance, see
/// <see cref="SharedRateLimiter"/>; the endpoint's attempts here ask it in turn, the one asking waiting for its time). 410 Gone, or failing for the disable period (<see cref="EndpointFailureClock"/>), disables the endpoint and
/// publishes <c>webhook.endpoint.disabled</c> through the outbox of the same transaction (its data: the endpoint id, the
/// URL's origin only — never its path or query, which often carry the receiver's token — and the reason).
/// </summary>
public sealed partial class DeliveryDispatcher(
    DeliveryBook book,
    EndpointRegistry endpoints,
    DeliveryAttempter attempter,
    DeliverySignal signal,
    EndpointFailureClock failureClock,
    DeliveryConcurrency concurrency,
    CircuitBreakerOptions breakerOptions,
    SharedRateLimiter rateLimiter,
    TimeProvider time,
    ILogger<DeliveryDispatcher> logger) : BackgroundService
{
    public const string EndpointDisabledTopic = "webhook.endpoint.disabled";
    private const int StateKeysPerScan = 1000;
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan NewWorkRescanInterval = TimeSpan.FromMilliseconds(10);

    private readonly SemaphoreSlim _slots = new(concurrency.MaxInFlight, concurrency.MaxInFlight);
    private readonly ConcurrentDictionary<string, int> _perEndpoint = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, EndpointCircuitBreaker> _breakers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _rateTurns = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<Waiting>> _waiting = new(StringComparer.Ordinal);
    private int _waitingCount;
    private long _waitingBytes;
    private CancellationToken? _stopping;
    private int _inFlight;
    private TaskCompletionSource? _drained;
    private readonly RunOnce _stop = new();

    /// <summary>Deliveries created claimed that wait in memory for one of their endpoint's slots: at most this many per process…</summary>
    public const int MaxWaiting = 100_000;

    /// <summary>…and at most this many payload bytes (an event's payload counted once per delivery, so this is an upper bound).</summary>
    public const long MaxWaitingBytes = 256L * 1024 * 1024;

    private sealed record Waiting(DeliveryRecord Record, string LeaseKey, long QueuedAt);

    /// <summary>
    /// Takes a global slot and one of the endpoint's slots, if both are free and the dispatcher runs: the fan-out then
    /// creates the delivery already claimed and hands it over (<see cref="RunClaimed"/>), so a fresh delivery costs no
    /// scan and no claim — two state round trips (create, settle) around the attempt. False: create it due instead.
    /// </summary>
    public bool TryReserve(string endpointId)
    {
        if (_stopping is not { IsCancellationRequested: false } || !_slots.Wait(0, CancellationToken.None))
        {
            return false;
        }

        while (true)
        {
            var current = _perEndpoint.GetValueOrDefault(endpointId);
            if (current >= concurrency.MaxInFlightPerEndpoint)
            {
                _slots.Release();
                return false;
            }

            if (current == 0 ? _perEndpoint.TryAdd(endpointId, 1) || _perEndpoint.TryUpdate(endpointId, 1, 0) : _perEndpoint.TryUpdate(endpointId, current + 1, current))
            {
                return true;
            }
        }
    }

    /// <summary>Gives back a reservation that was not used (the delivery existed already).</summary>
    public void Release(string endpointId)
    {
        _perEndpoint.AddOrUpdate(endpointId, 0, (_, n) => n - 1);
        _slots.Release();
    }

    /// <summary>
    /// Takes a place in this process's in-memory queue (see <see cref="MaxWaiting"/>) for a delivery whose endpoint has
    /// all its slots busy: the fan-out creates it claimed and hands it over with <see cref="EnqueueClaimed"/>, and it runs
    /// as soon as one of the endpoint's attempts ends — without a scan or a claim. If the process dies first its lease
    /// brings it back like any claimed delivery. False: create it due instead.
    /// </summary>
    public bool TryReserveWaiting(int payloadBytes)
    {
        if (_stopping is not { IsCancellationRequested: false })
        {
            return false;
        }

        if (Interlocked.Increment(ref _waitingCount) > MaxWaiting | Interlocked.Add(ref _waitingBytes, payloadBytes) > MaxWaitingBytes)
        {
            ReleaseWaiting(payloadBytes);
            return false;
        }

        return true;
    }

    /// <summary>Gives back a place taken with <see cref="TryReserveWaiting"/> (not used, or its delivery left the queue).</summary>
    public void ReleaseWaiting(int payloadBytes)
    {
        Interlocked.Decrement(ref _waitingCount);
        Interlocked.Add(ref _waitingBytes, -payloadBytes);
    }

    /// <summary>Queues a delivery created claimed under <see cref="TryReserveWaiting"/> behind its endpoint's attempts in flight.</summary>
    public void EnqueueClaimed(DeliveryRecord record, string leaseKey)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_stopping is { IsCancellationRequested: true })
        {
            // Created claimed while this worker stopped: hand it back rather than leave it to its lease.
            ReleaseWaiting(record.CloudEventJson.Length);
            _ = HandBackAsync([leaseKey]);
            return;
        }

        _waiting.GetOrAdd(record.EndpointId, _ => new ConcurrentQueue<Waiting>()).Enqueue(new Waiting(record, leaseKey, time.GetTimestamp()));
        StartWaiting(record.EndpointId);
    }

    /// <summary>
    /// Starts queued deliveries of the endpoint while it has free slots. One that waited past half its lease is claimed
    /// again first (its lease renewed), so it is never attempted after the lease ran out and a scan could hand it out too.
    /// </summary>
    private void StartWaiting(string endpointId)
    {
        if (_stopping is { IsCancellationRequested: true } || !_waiting.TryGetValue(endpointId, out var queue))
        {
            return;
        }

        while (!queue.IsEmpty && TryReserve(endpointId))
        {
            if (!queue.TryDequeue(out var next))
            {
                Release(endpointId);
                return;
            }

            ReleaseWaiting(next.Record.CloudEventJson.Length);
            if (time.GetElapsedTime(next.QueuedAt) < book.Lease / 2)
            {
                RunClaimed(next.Record, next.LeaseKey);
            }
            else
            {
                Launch(next.LeaseKey, endpointId, ct => book.ClaimAsync(next.LeaseKey, ct));
            }
        }
    }

    /// <summary>Attempts a delivery claimed at creation under a reservation (<see cref="TryReserve"/>).</summary>
    public void RunClaimed(DeliveryRecord record, string leaseKey)
    {
        ArgumentNullException.ThrowIfNull(record);
        Launch(leaseKey, record.EndpointId, _ => Task.FromResult<(DeliveryRecord, string)?>((record, leaseKey)));
    }

    /// <summary>Runs one delivery in the background under a reservation already taken; <paramref name="claim"/> yields it (or null: someone else has it).</summary>
    private void Launch(string dueKey, string endpointId, Func<CancellationToken, Task<(DeliveryRecord Record, string LeaseKey)?>> claim)
    {
        var stopping = _stopping ?? CancellationToken.None;
        _running[dueKey] = 0;
        Interlocked.Increment(ref _inFlight);
        _ = Task.Run(() => RunAsync(dueKey, endpointId, claim, stopping), CancellationToken.None);
    }

    /// <summary>
    /// Scans the due index, then starts what it found endpoint by endpoint as slots free up, without scanning again for
    /// every finished delivery: a scan lists up to <see cref="StateKeysPerScan"/> keys, which on PostgreSQL at hundreds of
    /// deliveries per second cost more than the deliveries (one scan per completion held distributed delivery near 900/s).
    /// It scans again when it has started everything it found (and the scan was full), when new deliveries were announced
    /// (at most every <see cref="NewWorkRescanInterval"/> while it still has work in hand), and every <see cref="PollInterval"/>
    /// (retries coming due, leases expiring, deliveries created by other instances).
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        var inHand = new Dictionary<string, Queue<string>>(StringComparer.Ordinal);
        var scanWasFull = false;
        var scannedAt = long.MinValue;
        var newWorkSeen = -1L;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var sinceScan = scannedAt == long.MinValue ? TimeSpan.MaxValue : time.GetElapsedTime(scannedAt);
                var empty = inHand.Count == 0;
                var newWork = signal.NewWork != newWorkSeen;
                if (sinceScan >= PollInterval || (empty && (newWork || scanWasFull)) || (newWork && sinceScan >= NewWorkRescanInterval))
                {
                    newWorkSeen = signal.NewWork;
                    var keys = await book.DueKeysAsync(StateKeysPerScan, stoppingToken).ConfigureAwait(false);
                    scannedAt = time.GetTimestamp();
                    scanWasFull = keys.Count >= StateKeysPerScan;
                    inHand = GroupByEndpoint(keys);
                }

                var started = StartInHand(inHand);
                if (started > 0 && inHand.Count == 0 && scanWasFull)
                {
                    continue;
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

    private Dictionary<string, Queue<string>> GroupByEndpoint(IReadOnlyList<string> dueKeys)
    {
        var grouped = new Dictionary<string, Queue<string>>(StringComparer.Ordinal);
        foreach (var dueKey in dueKeys)
        {
            if (_running.ContainsKey(dueKey))
            {
                continue;
            }

            var endpointId = DeliveryBook.EndpointOf(dueKey);
            if (!grouped.TryGetValue(endpointId, out var queue))
            {
                grouped[endpointId] = queue = new Queue<string>();
            }

            queue.Enqueue(dueKey);
        }

        return grouped;
    }

    /// <summary>
    /// Starts keys in hand, oldest first per endpoint, while slots are free: an endpoint with its share in flight keeps
    /// its keys for later, everyone else's go ahead. Never waits for a slot.
    /// </summary>
    private int StartInHand(Dictionary<string, Queue<string>> inHand)
    {
        var started = 0;
        foreach (var (endpointId, queue) in inHand)
        {
            while (queue.Count > 0)
            {
                var dueKey = queue.Peek();
                if (_running.ContainsKey(dueKey))
                {
                    queue.Dequeue();
                    continue;
                }

                if (!TryReserve(endpointId))
                {
                    break;
                }

                queue.Dequeue();
                started++;
                Launch(dueKey, endpointId, ct => book.ClaimAsync(dueKey, ct));
            }

            if (queue.Count == 0)
            {
                inHand.Remove(endpointId);
            }
        }

        return started;
    }

    private async Task RunAsync(string dueKey, string endpointId, Func<CancellationToken, Task<(DeliveryRecord Record, string LeaseKey)?>> claim, CancellationToken stoppingToken)
    {
        string? held = null;
        try
        {
            if (await claim(stoppingToken).ConfigureAwait(false) is not { } claimed)
            {
                return;
            }

            held = claimed.LeaseKey;
            await AttemptAsync(claimed.Record, claimed.LeaseKey, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping mid-attempt: hand the delivery back now (if it was not settled) instead of when its lease runs out.
            if (held is not null)
            {
                await HandBackAsync([held]).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogDeliveryFailed(logger, ex, dueKey);
        }
        finally
        {
            _running.TryRemove(dueKey, out _);
            Release(endpointId);
            if (Interlocked.Decrement(ref _inFlight) == 0)
            {
                Volatile.Read(ref _drained)?.TrySetResult();
            }

            if (Volatile.Read(ref _waitingCount) > 0)
            {
                StartWaiting(endpointId);
                foreach (var other in _waiting.Where(w => !w.Value.IsEmpty).Select(w => w.Key))
                {
                    StartWaiting(other);
                }
            }

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

        var breaker = _breakers.GetOrAdd(endpoint.Id, _ => new EndpointCircuitBreaker(breakerOptions));
        var gate = breaker.TryAcquire(now);
        var notBefore = gate.Allowed ? (DateTimeOffset?)null : gate.NotBefore;
        if (gate.Allowed && endpoint.RateLimitPerSecond is { } rate)
        {
            // Shared by every instance (one state read and write per attempt, paid only by rate-limited endpoints). The
            // limit is smooth (no burst at a whole-number rate), so the endpoint's attempts here take turns to ask it: the
            // one whose turn it is waits in memory (still claimed) for the exact time it is told, when that is soon, and
            // the next asks as soon as it has gone. A refusal further off, a probe, or no turn within that time defers
            // the delivery to the earliest time the limit gave.
            var decision = await AcquireRateAsync(endpoint.Id, rate, waitInMemory: !gate.IsProbe, stoppingToken).ConfigureAwait(false);
            if (!decision.Allowed)
            {
                notBefore = decision.NextSendAt;
                if (gate.IsProbe)
                {
                    breaker.ReturnProbe();
                }
            }
        }

        if (notBefore is { } later)
        {
            var heldAt = await book.SettleAsync(record with { NextAttemptAt = later, UpdatedAt = now }, leaseKey, null, stoppingToken).ConfigureAwait(false);
            if (!gate.Allowed && heldAt is not null && !breaker.Hold(record.Id, heldAt))
            {
                // The circuit closed while this was being held: the success that closed it did not know of it.
                await ReleaseHeldAsync([heldAt], stoppingToken).ConfigureAwait(false);
            }

            return;
        }

        var attemptNumber = record.Attempts + 1;
        var (attempt, next) = await attempter.AttemptAsync(endpoint, record.Id, record.EventId, record.CloudEventJson, attemptNumber, stoppingToken).ConfigureAwait(false);
        var after = time.GetUtcNow();
        var shouldDisable = false;
        IReadOnlyList<string> released = [];
        if (next is NextStep.Delivered)
        {
            released = breaker.RecordSuccess(after).Released;
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
        if (released.Count > 0)
        {
            // The endpoint answers again: what its circuit held back goes now, not when the cool-down would have ended.
            await ReleaseHeldAsync(released, stoppingToken).ConfigureAwait(false);
        }

        var disableReason = next is NextStep.DisableEndpoint d ? d.Reason : shouldDisable ? $"no delivery has succeeded for {failureClock.DisableAfter}" : null;
        if (disableReason is not null)
        {
            await endpoints.DisableAsync(endpoint.Id, disableReason, EndpointDisabledTopic, disabled => CloudEventJson.Create(
                "/webhooks/endpoints", EndpointDisabledTopic, new { endpointId = disabled.Id, origin = WebhookUrl.Origin(disabled.Url), reason = disableReason }, disabled.Id), stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Makes deliveries an endpoint's circuit held back due now; best effort (one not released comes due when its hold ends).</summary>
    private async Task ReleaseHeldAsync(IReadOnlyList<string> dueEntries, CancellationToken stoppingToken)
    {
        try
        {
            await book.DueNowAsync(dueEntries, stoppingToken).ConfigureAwait(false);
            signal.NotifyNewWork();
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReleaseFailed(logger, ex, dueEntries.Count);
        }
    }

    /// <summary>
    /// Stops the loop, hands back every delivery waiting in memory, and waits (as long as the host allows) for the
    /// attempts in flight, which hand theirs back as they are cancelled: another worker takes them at once. Stops once:
    /// a second caller (a test server stops its host twice at the same time) waits for that stop; two stops each with
    /// their own drain signal left one of them waiting for the host's whole shutdown timeout (30 s) after the last
    /// attempt had ended.
    /// </summary>
    public override Task StopAsync(CancellationToken cancellationToken) => _stop.Run(() => StopOnceAsync(cancellationToken));

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        var queued = new List<string>();
        foreach (var queue in _waiting.Values)
        {
            while (queue.TryDequeue(out var waiting))
            {
                ReleaseWaiting(waiting.Record.CloudEventJson.Length);
                queued.Add(waiting.LeaseKey);
            }
        }

        if (queued.Count > 0)
        {
            await HandBackAsync(queued).ConfigureAwait(false);
        }

        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, drained);
        if (Volatile.Read(ref _inFlight) == 0)
        {
            drained.TrySetResult();
        }

        try
        {
            await drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of patience: whatever was not handed back comes back with its lease.
        }
    }

    /// <summary>Best effort: a delivery not handed back comes back when its lease runs out.</summary>
    private async Task HandBackAsync(List<string> leaseKeys)
    {
        try
        {
            await book.HandBackAsync(leaseKeys, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogHandBackFailed(logger, ex, leaseKeys.Count);
        }
    }

    /// <summary>
    /// Asks the shared limit for one of the endpoint's sends, one attempt of this process at a time per endpoint; the one
    /// whose turn it is waits for the time it is told while that is within <see cref="MaxRateWait"/>.
    /// </summary>
    private async Task<RateLimitDecision> AcquireRateAsync(string endpointId, double rate, bool waitInMemory, CancellationToken stoppingToken)
    {
        // One deadline for the whole wait (the turn and every refusal after it), so an attempt never holds its claim in
        // memory for longer than MaxRateWait however often other instances take the place it was told.
        var deadline = time.GetUtcNow() + MaxRateWait(book.Lease);
        var turn = _rateTurns.GetOrAdd(endpointId, _ => new SemaphoreSlim(1, 1));
        if (!waitInMemory || !await turn.WaitAsync(Until(deadline), stoppingToken).ConfigureAwait(false))
        {
            return await rateLimiter.TryAcquireAsync(RateScope(endpointId), rate, cancellationToken: stoppingToken).ConfigureAwait(false);
        }

        try
        {
            while (true)
            {
                var decision = await rateLimiter.TryAcquireAsync(RateScope(endpointId), rate, cancellationToken: stoppingToken).ConfigureAwait(false);
                if (decision.Allowed || decision.NextSendAt > deadline)
                {
                    return decision;
                }

                var wait = Until(decision.NextSendAt);
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            turn.Release();
        }

        TimeSpan Until(DateTimeOffset at) => at - time.GetUtcNow() is var left && left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>How long a rate-limited attempt may wait in memory, holding its claim: a quarter of the lease, at most 5 s.</summary>
    private static TimeSpan MaxRateWait(TimeSpan lease) => lease / 4 < TimeSpan.FromSeconds(5) ? lease / 4 : TimeSpan.FromSeconds(5);

    /// <summary>The shared rate-limit scope of an endpoint's outbound attempts.</summary>
    public static string RateScope(string endpointId) => "out" + Serverless.BuildingBlocks.State.StateKeys.Separator + endpointId;

    private static string Describe(DeliveryAttempt attempt) => attempt.StatusCode is { } status ? $"HTTP {status}" : attempt.Error ?? "failed";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery dispatch loop failed; retrying")]
    private static partial void LogLoopFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Running due delivery {DueKey} failed; its lease brings it back")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception error, string dueKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Releasing {Count} deliveries held by a circuit breaker failed; they come due when their hold ends")]
    private static partial void LogReleaseFailed(ILogger logger, Exception error, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handing {Count} claimed deliveries back failed; their leases bring them back")]
    private static partial void LogHandBackFailed(ILogger logger, Exception error, int count);

    public override void Dispose()
    {
        _slots.Dispose();
        base.Dispose();
    }
}

/// <summary>
/// How many attempts one process runs at once (<c>Webhooks:Outbound:MaxInFlight</c>, default 256) and to one endpoint
/// (<c>Webhooks:Outbound:MaxInFlightPerEndpoint</c>, default 16): the second is what a slow or dead endpoint can hold, the
/// rest stays for everyone else.
/// </summary>
public sealed record DeliveryConcurrency(int MaxInFlight = 256, int MaxInFlightPerEndpoint = 16);
