using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Azure.Messaging;
using Serverless.BuildingBlocks.State;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// The durable side of outbound delivery, on the state store: delivery records, a due-time index
/// (<c>webhooks||due||{ticks}||{id}</c>, listed in time order), leases that make a crashed attempt come due again,
/// the attempts log per endpoint and the failed-deliveries index per endpoint. A pending delivery never expires; a settled
/// one (delivered or failed, with its failed-index entry) is kept for <c>retention</c> (default
/// <see cref="DefaultDeliveryRetention"/>) and then expires, so the records, each holding its whole event, do not
/// accumulate for ever. A failed delivery retried is pending again and loses its expiry.
/// </summary>
public sealed class DeliveryBook(IStateStore state, TimeProvider time, TimeSpan? lease = null, TimeSpan? retention = null)
{
    /// <summary>How long a delivered or failed delivery is kept by default (like receipts and attempts).</summary>
    public static readonly TimeSpan DefaultDeliveryRetention = TimeSpan.FromDays(30);

    private readonly StateWriteOptions _settled = new(Ttl: retention is { } r && r > TimeSpan.Zero ? r : DefaultDeliveryRetention);

    /// <summary>How long a claimed delivery stays hidden by default; after that a crashed worker's delivery comes due again.</summary>
    public static readonly TimeSpan DefaultLease = TimeSpan.FromSeconds(60);

    private readonly TimeSpan _lease = lease ?? DefaultLease;

    /// <summary>How long a claim hides a delivery.</summary>
    public TimeSpan Lease => _lease;

    /// <summary>How long attempt records are kept.</summary>
    public static readonly TimeSpan AttemptRetention = TimeSpan.FromDays(30);

    private const string DeliveryPrefix = "webhooks||delivery||";
    private const string DuePrefix = "webhooks||due||";
    private const string AttemptPrefix = "webhooks||attempt||";
    private const string FailedPrefix = "webhooks||failed||";

    /// <summary>Creates the delivery unless it exists (a redelivered event); false when it did.</summary>
    public async Task<bool> CreateAsync(string endpointId, CloudEvent cloudEvent, byte[] cloudEventJson, DateTimeOffset firstAttemptAt, CancellationToken cancellationToken) =>
        await CreateAllAsync([new PlannedDelivery(endpointId, Claimed: false)], cloudEvent, cloudEventJson, firstAttemptAt, cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>
    /// Creates one delivery of the event per planned endpoint in one transaction; a claimed one's due entry is its lease
    /// (as after <see cref="ClaimAsync"/>), so the caller attempts it at once and a crash still brings it back after the
    /// lease. Null, and nothing written, when any of them existed already.
    /// </summary>
    public async Task<IReadOnlyList<CreatedDelivery>?> CreateAllAsync(IReadOnlyList<PlannedDelivery> plan, CloudEvent cloudEvent, byte[] cloudEventJson, DateTimeOffset firstAttemptAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var now = time.GetUtcNow();
        var transaction = new StateTransaction();
        var created = new List<CreatedDelivery>(plan.Count);
        foreach (var (endpointId, claimed) in plan)
        {
            var record = new DeliveryRecord(DeliveryId(cloudEvent.Id, endpointId), endpointId, cloudEvent.Id, cloudEvent.Type, cloudEventJson, DeliveryStatus.Pending, 0, firstAttemptAt, null, now, now);
            var dueKey = DueKey(claimed ? now + _lease : firstAttemptAt, endpointId, record.Id);
            transaction
                .UpsertJson(DeliveryPrefix + record.Id, record, new StateWriteOptions(OnlyIfAbsent: true))
                .Upsert(dueKey, ReadOnlyMemory<byte>.Empty);
            created.Add(new CreatedDelivery(record, dueKey, claimed));
        }

        try
        {
            await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            return created;
        }
        catch (ETagMismatchException)
        {
            return null;
        }
    }

    /// <summary>Due entries up to now, oldest first (at most <paramref name="max"/>).</summary>
    public async Task<IReadOnlyList<string>> DueKeysAsync(int max, CancellationToken cancellationToken)
    {
        var page = await state.ListKeysAsync(DuePrefix, max, null, cancellationToken).ConfigureAwait(false);
        var limit = DuePrefix + time.GetUtcNow().UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "~";
        return page.Keys.TakeWhile(k => string.CompareOrdinal(k, limit) <= 0).ToList();
    }

    /// <summary>
    /// Claims a due entry: it is replaced by one a lease later, so exactly one worker wins and a worker that dies
    /// mid-attempt leaves a delivery that comes due again. Null when another worker won or the delivery is settled.
    /// </summary>
    public async Task<(DeliveryRecord Record, string LeaseKey)?> ClaimAsync(string dueKey, CancellationToken cancellationToken)
    {
        var id = IdOf(dueKey);
        var items = await state.GetBulkAsync([dueKey, DeliveryPrefix + id], cancellationToken).ConfigureAwait(false);
        var due = items.FirstOrDefault(i => i.Key == dueKey);
        var record = items.FirstOrDefault(i => i.Key != dueKey)?.Deserialize<DeliveryRecord>();
        if (due is null || record is null || record.Status != DeliveryStatus.Pending)
        {
            if (due is not null)
            {
                await state.DeleteAsync(dueKey, due.ETag, cancellationToken).ConfigureAwait(false);
            }

            return null;
        }

        var leaseKey = DueKey(time.GetUtcNow() + _lease, record.EndpointId, id);
        try
        {
            await state.TransactAsync(new StateTransaction().Delete(dueKey, due.ETag).Upsert(leaseKey, ReadOnlyMemory<byte>.Empty), cancellationToken).ConfigureAwait(false);
            return (record, leaseKey);
        }
        catch (ETagMismatchException)
        {
            return null;
        }
    }

    /// <summary>
    /// Hands claimed deliveries back (a worker stopping): each lease entry that still exists becomes a due entry for now,
    /// so another worker takes it at once instead of when the lease runs out. A lease already settled is left alone
    /// (ETag-checked), so a delivery is never scheduled twice.
    /// </summary>
    public Task HandBackAsync(IReadOnlyList<string> leaseKeys, CancellationToken cancellationToken) => DueNowAsync(leaseKeys, cancellationToken);

    /// <summary>
    /// Brings due or lease entries forward to now (deliveries an endpoint's circuit breaker held back, released by the
    /// probe that closed it; leases handed back). An entry that no longer exists — claimed, settled, or brought forward
    /// already — is left alone (ETag-checked), so a delivery is never scheduled twice.
    /// </summary>
    public async Task DueNowAsync(IReadOnlyList<string> entries, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var chunk in entries.Chunk(500))
        {
            var existing = await state.GetBulkAsync(chunk, cancellationToken).ConfigureAwait(false);
            if (existing.Count == 0)
            {
                continue;
            }

            var now = time.GetUtcNow();
            StateTransaction Forward(StateTransaction transaction, StateItem entry) =>
                transaction.Delete(entry.Key, entry.ETag).Upsert(DueKey(now, EndpointOf(entry.Key), IdOf(entry.Key)), ReadOnlyMemory<byte>.Empty);

            try
            {
                await state.TransactAsync(existing.Aggregate(new StateTransaction(), Forward), cancellationToken).ConfigureAwait(false);
            }
            catch (ETagMismatchException)
            {
                // One of them was claimed or settled meanwhile: bring the rest forward one by one.
                foreach (var entry in existing)
                {
                    try
                    {
                        await state.TransactAsync(Forward(new StateTransaction(), entry), cancellationToken).ConfigureAwait(false);
                    }
                    catch (ETagMismatchException)
                    {
                    }
                }
            }
        }
    }

    /// <summary>
    /// Records an attempt's result: the record, the attempts log, and the next due entry or the failed index.
    /// Returns the next due entry of a delivery still pending (null otherwise).
    /// </summary>
    public async Task<string?> SettleAsync(DeliveryRecord updated, string leaseKey, DeliveryAttempt? attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(updated);
        // Pending: no expiry (an upsert without a TTL clears one); settled: kept for the retention.
        var transaction = new StateTransaction()
            .UpsertJson(DeliveryPrefix + updated.Id, updated, updated.Status == DeliveryStatus.Pending ? null : _settled)
            .Delete(leaseKey);
        if (attempt is not null)
        {
            transaction.UpsertJson(AttemptPrefix + updated.EndpointId + StateKeys.Separator + TimeOrderedId.Next(time.GetUtcNow()), attempt, new StateWriteOptions(Ttl: AttemptRetention));
        }

        string? dueKey = null;
        switch (updated.Status)
        {
            case DeliveryStatus.Pending:
                dueKey = DueKey(updated.NextAttemptAt, updated.EndpointId, updated.Id);
                transaction.Upsert(dueKey, ReadOnlyMemory<byte>.Empty);
                break;
            case DeliveryStatus.Failed:
                transaction.Upsert(FailedPrefix + updated.EndpointId + StateKeys.Separator + updated.Id, Encoding.UTF8.GetBytes(updated.UpdatedAt.ToString("O", CultureInfo.InvariantCulture)), _settled);
                break;
        }

        await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
        return dueKey;
    }

    public async Task<DeliveryRecord?> GetAsync(string id, CancellationToken cancellationToken) =>
        IsDeliveryId(id) ? (await state.GetJsonAsync<DeliveryRecord>(DeliveryPrefix + id, cancellationToken).ConfigureAwait(false))?.Value : null;

    /// <summary>Puts a failed delivery back on the schedule with a fresh series of attempts. False unless it had failed.</summary>
    public async Task<bool> RetryAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsDeliveryId(id))
        {
            return false;
        }

        var current = await state.GetJsonAsync<DeliveryRecord>(DeliveryPrefix + id, cancellationToken).ConfigureAwait(false);
        if (current is null || current.Value.Status != DeliveryStatus.Failed)
        {
            return false;
        }

        var now = time.GetUtcNow();
        // Pending again: written without a TTL, so the expiry it had as a failed delivery is cleared.
        var again = current.Value with { Status = DeliveryStatus.Pending, Attempts = 0, NextAttemptAt = now, UpdatedAt = now };
        try
        {
            await state.TransactAsync(new StateTransaction()
                .UpsertJson(DeliveryPrefix + id, again, new StateWriteOptions(ETag: current.ETag))
                .Delete(FailedPrefix + again.EndpointId + StateKeys.Separator + id)
                .Upsert(DueKey(now, again.EndpointId, id), ReadOnlyMemory<byte>.Empty), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ETagMismatchException)
        {
            return false;
        }
    }

    /// <summary>Re-queues every failed delivery of an endpoint that failed at or after <paramref name="since"/>. Returns how many.</summary>
    public async Task<int> RecoverAsync(string endpointId, DateTimeOffset since, CancellationToken cancellationToken)
    {
        var recovered = 0;
        string? token = null;
        do
        {
            var prefix = FailedPrefix + endpointId + StateKeys.Separator;
            var page = await state.ListKeysAsync(prefix, StateKeys.MaxPageSize, token, cancellationToken).ConfigureAwait(false);
            foreach (var item in await state.GetBulkAsync(page.Keys.ToList(), cancellationToken).ConfigureAwait(false))
            {
                var failedAt = DateTimeOffset.Parse(Encoding.UTF8.GetString(item.Value.Span), CultureInfo.InvariantCulture);
                if (failedAt >= since && await RetryAsync(item.Key[prefix.Length..], cancellationToken).ConfigureAwait(false))
                {
                    recovered++;
                }
            }

            token = page.ContinuationToken;
        }
        while (token is not null);
        return recovered;
    }

    /// <summary>An endpoint's failed deliveries (the dead letters of outbound delivery), by delivery id.</summary>
    public async Task<(IReadOnlyList<DeliveryRecord> Items, string? NextCursor)> FailedAsync(string endpointId, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var prefix = FailedPrefix + endpointId + StateKeys.Separator;
        var page = await state.GetJsonPageAsync<DeliveryRecord>(prefix, limit, cursor, k => DeliveryPrefix + k[prefix.Length..], cancellationToken).ConfigureAwait(false);
        return (page.Items, page.NextCursor);
    }

    /// <summary>An endpoint's attempts, oldest first.</summary>
    public async Task<(IReadOnlyList<DeliveryAttempt> Items, string? NextCursor)> AttemptsAsync(string endpointId, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var page = await state.GetJsonPageAsync<DeliveryAttempt>(AttemptPrefix + endpointId + StateKeys.Separator, limit, cursor, cancellationToken: cancellationToken).ConfigureAwait(false);
        return (page.Items, page.NextCursor);
    }

    private static string DeliveryId(string eventId, string endpointId) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventId + "\n" + endpointId)))[..32];

    /// <summary>The endpoint is part of the key so the dispatcher can pass over a busy endpoint's entries without reading them.</summary>
    private static string DueKey(DateTimeOffset at, string endpointId, string id) =>
        DuePrefix + at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + StateKeys.Separator + endpointId + StateKeys.Separator + id;

    /// <summary>The endpoint a due entry belongs to.</summary>
    public static string EndpointOf(string dueKey)
    {
        ArgumentNullException.ThrowIfNull(dueKey);
        var parts = dueKey.Split(StateKeys.Separator);
        return parts[^2];
    }

    /// <summary>The delivery a due or lease entry stands for (its last part).</summary>
    private static string IdOf(string dueKey) => dueKey[(dueKey.LastIndexOf(StateKeys.Separator, StringComparison.Ordinal) + StateKeys.Separator.Length)..];

    private static bool IsDeliveryId(string id) => TimeOrderedId.IsWellFormed(id);
}
