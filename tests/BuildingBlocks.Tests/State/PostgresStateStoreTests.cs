using Npgsql;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;

namespace BuildingBlocks.Tests.State;

public sealed class PostgresStateStoreTests : StateStoreContract
{
    private readonly string _schema = "state_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource? _dataSource;

    protected override async Task<IStateStore> CreateStoreAsync()
    {
        _dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        return await PostgresStateStore.OpenAsync(_dataSource, _schema, new OutboxSignal());
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await using var command = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            await command.ExecuteNonQueryAsync();
            await _dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task Two_instances_starting_together_both_create_the_schema_safely()
    {
        await using var other = NpgsqlDataSource.Create(TestServers.Postgres);
        var schema = "state_" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresStateStore.OpenAsync(other, schema, new OutboxSignal())));
            await stores[0].SaveAsync("x", "1"u8.ToArray());
            Assert.NotNull(await stores[3].GetAsync("x"));
        }
        finally
        {
            await using var command = other.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE");
            await command.ExecuteNonQueryAsync();
        }
    }
}
