namespace Serverless.BuildingBlocks.State;

/// <summary>
/// Key/value state with the semantics of Dapr's state API: ETags for optimistic concurrency
/// (an ETag given = first-write-wins, a mismatch throws <see cref="ETagMismatchException"/>;
/// no ETag = last-write-wins), bulk get, all-or-nothing transactions (with outbox events), TTL
/// and listing keys by prefix.
/// </summary>
public interface IStateStore
{
    /// <summary>Which engine backs this store ("sqlite", "postgresql").</summary>
    string Engine { get; }

    Task<StateItem?> GetAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>
    /// Reads a key like <see cref="GetAsync"/>, except that when its stored ETag is <paramref name="knownETag"/> the value
    /// is left where it is: the item comes back with that ETag and an empty value, for a caller that holds the value of
    /// that version already (a cache of decoded records). A store that cannot leave the value out returns it whole.
    /// </summary>
    Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default) =>
        GetAsync(key, cancellationToken);

    /// <summary>
    /// <see cref="GetIfChangedAsync"/> for many keys at once, each with the ETag of the version the caller holds (or
    /// null): the items that exist (and are not expired), in no particular order, a value left out where its ETag is the
    /// one given. One round trip where the engine allows (a poll of everything a process watches).
    /// </summary>
    async Task<IReadOnlyList<StateItem>> GetBulkIfChangedAsync(IReadOnlyCollection<KeyValuePair<string, string?>> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var items = new List<StateItem>(keys.Count);
        foreach (var (key, knownETag) in keys)
        {
            if (await GetIfChangedAsync(key, knownETag, cancellationToken).ConfigureAwait(false) is { } item)
            {
                items.Add(item);
            }
        }

        return items;
    }

    /// <summary>Returns the items that exist (and are not expired), in no particular order.</summary>
    Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default);

    /// <summary>Saves a value and returns its new ETag.</summary>
    Task<string> SaveAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes a key. Returns false when it did not exist. With an ETag, a mismatch throws.</summary>
    Task<bool> DeleteAsync(string key, string? etag = null, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies every operation and queues every outbox event in one transaction, or nothing at all.
    /// Returns the new ETag of every upsert, in operation order (deletes give an empty string).
    /// </summary>
    Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default);

    /// <summary>Lists keys that start with <paramref name="prefix"/>, in ordinal order, a page at a time.</summary>
    Task<KeyPage> ListKeysAsync(string prefix, int pageSize = 100, string? continuationToken = null, CancellationToken cancellationToken = default);

    /// <summary>Round-trips to the engine; used by /readyz.</summary>
    Task PingAsync(CancellationToken cancellationToken = default);
}
