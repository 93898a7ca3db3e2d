using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace Serverless.Testing;

/// <summary>A real state store of its own for one test: a SQLite file in a temp directory, or a fresh PostgreSQL schema.</summary>
public sealed class TemporaryStateStore : IAsyncDisposable
{
    private readonly Func<ValueTask> _cleanUp;

    private TemporaryStateStore(IStateStore store, Func<ValueTask> cleanUp)
    {
        Store = store;
        _cleanUp = cleanUp;
    }

    public IStateStore Store { get; }

    public static async Task<TemporaryStateStore> SqliteAsync()
    {
        var directory = Directory.CreateTempSubdirectory("state-").FullName;
        var database = new SqliteDatabase(Path.Combine(directory, "state.db"), NullLogger<SqliteDatabase>.Instance);
        var store = await SqliteStateStore.OpenAsync(database, new OutboxSignal());
        return new TemporaryStateStore(store, async () =>
        {
            await database.DisposeAsync();
            Directory.Delete(directory, recursive: true);
        });
    }

    /// <summary>Skips locally / fails under CI=true when PostgreSQL is not available (see <see cref="TestServers"/>).</summary>
    public static async Task<TemporaryStateStore> PostgresAsync(string schemaPrefix = "test")
    {
        var schema = schemaPrefix + "_" + Guid.NewGuid().ToString("N")[..10];
        var dataSource = PostgresDataSource.Create(TestServers.Postgres);
        var store = await PostgresStateStore.OpenAsync(dataSource, schema, new OutboxSignal());
        return new TemporaryStateStore(store, async () =>
        {
            await store.DisposeAsync();
            await using (var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            {
                await drop.ExecuteNonQueryAsync();
            }

            await dataSource.DisposeAsync();
        });
    }

    public ValueTask DisposeAsync() => _cleanUp();
}
