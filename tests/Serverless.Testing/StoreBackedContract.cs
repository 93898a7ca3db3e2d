using Serverless.BuildingBlocks.State;
using Xunit;

namespace Serverless.Testing;

/// <summary>
/// A contract that runs against every state store: each test gets a store of its own from <see cref="OpenAsync"/>
/// (<see cref="TemporaryStateStore.SqliteAsync"/>, <see cref="TemporaryStateStore.PostgresAsync"/>), removed afterwards.
/// </summary>
public abstract class StoreBackedContract : IAsyncLifetime
{
    private TemporaryStateStore? _store;

    protected IStateStore Store => _store!.Store;

    protected abstract Task<TemporaryStateStore> OpenAsync();

    public async ValueTask InitializeAsync() => _store = await OpenAsync();

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

    }
}
