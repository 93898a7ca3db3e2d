using System.Text.Json;

namespace Serverless.BuildingBlocks.State;

/// <summary>Typed access to the byte-oriented store, with System.Text.Json web defaults; reads also take values <see cref="CompactJson"/> compressed.</summary>
public static class StateStoreJsonExtensions
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<Versioned<T>?> GetJsonAsync<T>(this IStateStore store, string key, CancellationToken cancellationToken = default)
    {
        var item = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return item is null ? null : new Versioned<T>(item.Deserialize<T>(), item.ETag);
    }

    public static Task<string> SaveJsonAsync<T>(this IStateStore store, string key, T value, StateWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        store.SaveAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions), options, cancellationToken);

    public static StateTransaction UpsertJson<T>(this StateTransaction transaction, string key, T value, StateWriteOptions? options = null) =>
        transaction.Upsert(key, JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions), options);

    /// <summary>
    /// One page of JSON records whose keys (or index keys) start with <paramref name="prefix"/>, in key order.
    /// <paramref name="recordKey"/> maps an index key to the record's own key (identity when the keys are the records).
    /// </summary>
    public static async Task<JsonPage<T>> GetJsonPageAsync<T>(
        this IStateStore store, string prefix, int limit, string? cursor, Func<string, string>? recordKey = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var page = await store.ListKeysAsync(prefix, Math.Clamp(limit, 1, StateKeys.MaxPageSize), cursor, cancellationToken).ConfigureAwait(false);
        var keys = recordKey is null ? page.Keys : page.Keys.Select(recordKey).ToList();
        var items = await store.GetBulkAsync(keys.ToList(), cancellationToken).ConfigureAwait(false);
        return new JsonPage<T>(items.OrderBy(i => i.Key, StringComparer.Ordinal).Select(i => i.Deserialize<T>()).ToList(), page.ContinuationToken);
    }

    /// <summary>The item's JSON, plain or as <see cref="CompactJson"/> stored it.</summary>
    public static T Deserialize<T>(this StateItem item) => CompactJson.Deserialize<T>(item.Value.Span, JsonOptions)!;
}

public sealed record Versioned<T>(T Value, string ETag);

/// <param name="NextCursor">Null on the last page.</param>
public sealed record JsonPage<T>(IReadOnlyList<T> Items, string? NextCursor);
