using Serverless.BuildingBlocks.State;

namespace Pipelines.Service.Tests;

/// <summary>A real state store seen through a test's wrapper: every call goes to it unless the wrapper overrides it.</summary>
internal abstract class DelegatingStateStore(IStateStore inner) : IStateStore
{
    protected IStateStore Inner { get; } = inner;

    public string Engine => Inner.Engine;

    public virtual Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default) => Inner.GetIfChangedAsync(key, knownETag, cancellationToken);

    public virtual Task<StateItem?> GetAsync(string key, CancellationToken cancellationToken = default) => Inner.GetAsync(key, cancellationToken);

    public virtual Task<IReadOnlyList<StateItem>> GetBulkIfChangedAsync(IReadOnlyCollection<KeyValuePair<string, string?>> keys, CancellationToken cancellationToken = default) => Inner.GetBulkIfChangedAsync(keys, cancellationToken);

    public virtual Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => Inner.GetBulkAsync(keys, cancellationToken);

    public virtual Task<string> SaveAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null, CancellationToken cancellationToken = default) => Inner.SaveAsync(key, value, options, cancellationToken);

    public virtual Task<bool> DeleteAsync(string key, string? etag = null, CancellationToken cancellationToken = default) => Inner.DeleteAsync(key, etag, cancellationToken);

    public virtual Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default) => Inner.TransactAsync(transaction, cancellationToken);

    public virtual Task<KeyPage> ListKeysAsync(string prefix, int pageSize = 100, string? continuationToken = null, CancellationToken cancellationToken = default) => Inner.ListKeysAsync(prefix, pageSize, continuationToken, cancellationToken);

    public virtual Task PingAsync(CancellationToken cancellationToken = default) => Inner.PingAsync(cancellationToken);
}
