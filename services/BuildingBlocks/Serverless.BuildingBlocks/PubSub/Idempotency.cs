using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// Makes an at-least-once handler act once per event id. Two ways, pick by where the handler's effects go:
/// <list type="bullet">
/// <item>Effects in the state store: add <see cref="IdempotencyExtensions.MarkProcessed"/> to the handler's own
/// <see cref="StateTransaction"/> and commit it with <see cref="TryCommitOnceAsync"/>; state and marker commit
/// together, so a duplicate can never apply twice.</item>
/// <item>Other effects (an HTTP call, an e-mail): <see cref="RunOnceAsync"/> or <see cref="TryBeginAsync"/>,
/// which claim the event first. A process that dies while holding a claim blocks redeliveries of that event
/// (they fail with <see cref="EventAlreadyInProgressException"/> and retry) until the claim's lease expires.</item>
/// </list>
/// </summary>
public interface IIdempotencyGuard
{
    /// <summary>True when <paramref name="subscription"/> has completed <paramref name="eventId"/> (within the retention period).</summary>
    Task<bool> HasProcessedAsync(string subscription, string eventId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Commits <paramref name="transaction"/> with the processed marker for the event, or nothing at all.
    /// False (and nothing applied) when the event was processed before.
    /// </summary>
    Task<bool> TryCommitOnceAsync(string subscription, string eventId, StateTransaction transaction, TimeSpan? retention = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Claims the event for this delivery. Null when it was processed before (skip it); throws
    /// <see cref="EventAlreadyInProgressException"/> when another delivery holds the claim.
    /// Complete the claim after the work succeeded; dispose it without completing to give it back.
    /// </summary>
    Task<IdempotencyClaim?> TryBeginAsync(string subscription, string eventId, TimeSpan? lease = null, CancellationToken cancellationToken = default);

    /// <summary>Runs <paramref name="work"/> unless the event was processed before. True when it ran.</summary>
    Task<bool> RunOnceAsync(string subscription, string eventId, Func<CancellationToken, Task> work, CancellationToken cancellationToken = default);
}

/// <summary>This delivery's hold on an event. Dispose without <see cref="CompleteAsync"/> (the work failed) to release it.</summary>
public sealed class IdempotencyClaim : IAsyncDisposable
{
    private readonly IStateStore _store;
    private readonly string _key;
    private readonly string _etag;
    private bool _settled;

    internal IdempotencyClaim(IStateStore store, string key, string etag)
    {
        _store = store;
        _key = key;
        _etag = etag;
    }

    /// <summary>Turns the claim into the processed marker, kept for <paramref name="retention"/> (default 7 days).</summary>
    public async Task CompleteAsync(TimeSpan? retention = null, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_settled, this);
        await _store.SaveAsync(_key, IdempotencyMarkers.Done, new StateWriteOptions(ETag: _etag, Ttl: retention ?? IdempotencyMarkers.DefaultRetention), cancellationToken).ConfigureAwait(false);
        _settled = true;
    }

    public async ValueTask DisposeAsync()
    {
        if (_settled)
        {
            return;
        }

        _settled = true;
        try
        {
            await _store.DeleteAsync(_key, _etag, CancellationToken.None).ConfigureAwait(false);
        }
        catch (ETagMismatchException)
        {
            // The lease ran out and another delivery took the claim: it is theirs now.
        }
    }
}

public static class IdempotencyExtensions
{
    /// <summary>
    /// Adds the "processed" marker for the event to the transaction as a create-only write: if the event
    /// was processed before, the whole transaction fails with <see cref="ETagMismatchException"/> and applies nothing.
    /// </summary>
    public static StateTransaction MarkProcessed(this StateTransaction transaction, string subscription, string eventId, TimeSpan? retention = null)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        return transaction.Upsert(
            IdempotencyMarkers.Key(subscription, eventId),
            IdempotencyMarkers.Done,
            new StateWriteOptions(Ttl: retention ?? IdempotencyMarkers.DefaultRetention, OnlyIfAbsent: true));
    }
}

internal static class IdempotencyMarkers
{
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(7);

    public static readonly TimeSpan DefaultLease = TimeSpan.FromMinutes(2);

    public static readonly byte[] Done = """{"state":"done"}"""u8.ToArray();

    public static readonly byte[] Running = """{"state":"running"}"""u8.ToArray();

    private const int MaxPlainIdLength = 200;

    /// <summary><c>pubsub||processed||{subscription}||{event id}</c>; ids too long or odd for a key are hashed.</summary>
    public static string Key(string subscription, string eventId)
    {
        TopicRegistry.ValidateName(subscription);
        ArgumentException.ThrowIfNullOrEmpty(eventId);
        var id = eventId.Length <= MaxPlainIdLength && !eventId.Any(c => char.IsControl(c) || char.IsSurrogate(c))
            ? eventId
            : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(eventId)));
        return StateKeys.Join("pubsub", "processed", subscription, id);
    }

    public static bool IsDone(StateItem item)
    {
        using var document = JsonDocument.Parse(item.Value);
        return document.RootElement.TryGetProperty("state", out var state) && state.ValueEquals("done"u8);
    }
}

internal sealed class StateStoreIdempotencyGuard(IStateStore store) : IIdempotencyGuard
{
    public async Task<bool> HasProcessedAsync(string subscription, string eventId, CancellationToken cancellationToken = default)
    {
        var item = await store.GetAsync(IdempotencyMarkers.Key(subscription, eventId), cancellationToken).ConfigureAwait(false);
        return item is not null && IdempotencyMarkers.IsDone(item);
    }

    public async Task<bool> TryCommitOnceAsync(string subscription, string eventId, StateTransaction transaction, TimeSpan? retention = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var key = IdempotencyMarkers.Key(subscription, eventId);
        transaction.MarkProcessed(subscription, eventId, retention);
        try
        {
            await store.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ETagMismatchException ex) when (string.Equals(ex.Key, key, StringComparison.Ordinal))
        {
            return false;
        }
    }

    public async Task<IdempotencyClaim?> TryBeginAsync(string subscription, string eventId, TimeSpan? lease = null, CancellationToken cancellationToken = default)
    {
        var key = IdempotencyMarkers.Key(subscription, eventId);
        try
        {
            var etag = await store.SaveAsync(key, IdempotencyMarkers.Running, new StateWriteOptions(Ttl: lease ?? IdempotencyMarkers.DefaultLease, OnlyIfAbsent: true), cancellationToken).ConfigureAwait(false);
            return new IdempotencyClaim(store, key, etag);
        }
        catch (ETagMismatchException)
        {
            var existing = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                // Released or expired between the two calls: the next attempt will claim it.
                throw new EventAlreadyInProgressException(subscription, eventId);
            }

            return IdempotencyMarkers.IsDone(existing) ? null : throw new EventAlreadyInProgressException(subscription, eventId);
        }
    }

    public async Task<bool> RunOnceAsync(string subscription, string eventId, Func<CancellationToken, Task> work, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(work);
        var claim = await TryBeginAsync(subscription, eventId, cancellationToken: cancellationToken).ConfigureAwait(false);
        if (claim is null)
        {
            return false;
        }

        await using (claim.ConfigureAwait(false))
        {
            await work(cancellationToken).ConfigureAwait(false);
            await claim.CompleteAsync(cancellationToken: CancellationToken.None).ConfigureAwait(false);
            return true;
        }
    }
}
