using System.Text.Json;

namespace Serverless.BuildingBlocks.State;

/// <summary>Typed access to the byte-oriented store, with System.Text.Json web defaults.</summary>
public static class StateStoreJsonExtensions
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    public static async Task<Versioned<T>?> GetJsonAsync<T>(this IStateStore store, string key, CancellationToken cancellationToken = default)
    {
        var item = await store.GetAsync(key, cancellationToken).ConfigureAwait(false);
        return item is null ? null : new Versioned<T>(JsonSerializer.Deserialize<T>(item.Value.Span, JsonOptions)!, item.ETag);
    }

    public static Task<string> SaveJsonAsync<T>(this IStateStore store, string key, T value, StateWriteOptions? options = null, CancellationToken cancellationToken = default) =>
        store.SaveAsync(key, JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions), options, cancellationToken);

    public static StateTransaction UpsertJson<T>(this StateTransaction transaction, string key, T value, StateWriteOptions? options = null) =>
        transaction.Upsert(key, JsonSerializer.SerializeToUtf8Bytes(value, JsonOptions), options);

    public static T Deserialize<T>(this StateItem item) => JsonSerializer.Deserialize<T>(item.Value.Span, JsonOptions)!;
}

public sealed record Versioned<T>(T Value, string ETag);
