using Serverless.BuildingBlocks.State;
using Serverless.Testing;

namespace Webhooks.Tests.Receipts;

public sealed class SqliteReceiptLedgerTests : ReceiptLedgerContract
{
    private TemporaryStateStore? _store;

    protected override async Task<IStateStore> OpenAsync() => (_store = await TemporaryStateStore.SqliteAsync()).Store;

    public override async ValueTask DisposeAsync() => await _store!.DisposeAsync();
}

public sealed class PostgresReceiptLedgerTests : ReceiptLedgerContract
{
    private TemporaryStateStore? _store;

    protected override async Task<IStateStore> OpenAsync() => (_store = await TemporaryStateStore.PostgresAsync("receipts")).Store;

    public override async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }
}
