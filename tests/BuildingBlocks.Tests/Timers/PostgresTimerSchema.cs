using Npgsql;
using Serverless.Testing;

namespace BuildingBlocks.Tests.Timers;

/// <summary>A PostgreSQL schema of a test's own, dropped afterwards; the server comes from <see cref="TestServers.Postgres"/>.</summary>
public sealed class PostgresTimerSchema : IAsyncDisposable
{
    private bool _used;

    public string Name { get; } = "timers_" + Guid.NewGuid().ToString("N")[..12];

    /// <summary>Skips the test (fails it under CI) when no PostgreSQL is configured.</summary>
    public string ConnectionString
    {
        get
        {
            var connectionString = TestServers.Postgres;
            _used = true;
            return connectionString;
        }
    }

    public async Task<long> CountQuartzTablesAsync()
    {
        await using var dataSource = NpgsqlDataSource.Create(ConnectionString);
        await using var command = dataSource.CreateCommand("SELECT count(*) FROM information_schema.tables WHERE table_schema = $1 AND table_name LIKE 'qrtz%'");
        command.Parameters.AddWithValue(Name);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    public async ValueTask DisposeAsync()
    {
        if (_used)
        {
            await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
            await using var command = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE");
            await command.ExecuteNonQueryAsync();
        }
    }
}
