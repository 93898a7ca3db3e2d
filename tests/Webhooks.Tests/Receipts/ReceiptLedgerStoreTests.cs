using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;

namespace Webhooks.Tests.Receipts;

public sealed class SqliteReceiptLedgerTests : ReceiptLedgerContract
{
    private readonly string _directory = Directory.CreateTempSubdirectory("receipts-").FullName;
    private SqliteDatabase? _database;

    protected override async Task<IStateStore> OpenAsync()
    {
        _database = new SqliteDatabase(Path.Combine(_directory, "state.db"), NullLogger<SqliteDatabase>.Instance);
        return await SqliteStateStore.OpenAsync(_database, new OutboxSignal());
    }

    public override async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            await _database.DisposeAsync();
        }

        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class PostgresReceiptLedgerTests : ReceiptLedgerContract
{
    private readonly string _schema = "receipts_" + Guid.NewGuid().ToString("N")[..10];
    private NpgsqlDataSource? _dataSource;
    private PostgresStateStore? _store;

    protected override async Task<IStateStore> OpenAsync()
    {
        _dataSource = PostgresDataSource.Create(TestServers.Postgres);
        _store = await PostgresStateStore.OpenAsync(_dataSource, _schema, new OutboxSignal());
        return _store;
    }

    public override async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }

        if (_dataSource is not null)
        {
            await using var drop = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            await drop.ExecuteNonQueryAsync();
            await _dataSource.DisposeAsync();
        }
    }
}
