using Serverless.BuildingBlocks.State;

namespace Pipelines.Service.Tests;

/// <summary>
/// Stands for a process that dies right after a commit: once <see cref="CrashAfterNextCommit"/> is set, the next
/// transaction commits and every call after it throws, as if the process had gone away before its next write.
/// </summary>
public sealed class CrashingStateStore(IStateStore inner) : IStateStore
{
    private int _state; // 0 healthy, 1 armed, 2 crashed

    public string Engine => inner.Engine;

    public void CrashAfterNextCommit() => Interlocked.Exchange(ref _state, 1);

    public Task<StateItem?> GetAsync(string key, CancellationToken cancellationToken = default) => Alive(() => inner.GetAsync(key, cancellationToken));

    public Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default) => Alive(() => inner.GetBulkAsync(keys, cancellationToken));

    public Task<string> SaveAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null, CancellationToken cancellationToken = default) => Alive(() => inner.SaveAsync(key, value, options, cancellationToken));

    public Task<bool> DeleteAsync(string key, string? etag = null, CancellationToken cancellationToken = default) => Alive(() => inner.DeleteAsync(key, etag, cancellationToken));

    public async Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        var result = await Alive(() => inner.TransactAsync(transaction, cancellationToken));
        Interlocked.CompareExchange(ref _state, 2, 1);
        return result;
    }

    public Task<KeyPage> ListKeysAsync(string prefix, int pageSize = 100, string? continuationToken = null, CancellationToken cancellationToken = default) => Alive(() => inner.ListKeysAsync(prefix, pageSize, continuationToken, cancellationToken));

    public Task PingAsync(CancellationToken cancellationToken = default) => Alive(async () => { await inner.PingAsync(cancellationToken); return true; });

    private Task<T> Alive<T>(Func<Task<T>> call) =>
        Volatile.Read(ref _state) == 2 ? Task.FromException<T>(new IOException("the process died after its last commit")) : call();
}
