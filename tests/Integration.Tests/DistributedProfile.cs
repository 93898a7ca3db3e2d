using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// The distributed profile for one test host: a PostgreSQL schema of its own (and with it its own RabbitMQ
/// namespace, so hosts of other test classes never take its events), its settings, and the schema's removal.
/// </summary>
public sealed class DistributedProfile(string prefix)
{
    public string Schema { get; } = prefix + "_" + Guid.NewGuid().ToString("N")[..10];

    public Dictionary<string, string?> Settings(bool timers = false) => new()
    {
        ["Serverless:Profile"] = "distributed",
        ["Serverless:PostgresSchema"] = Schema,
        ["Serverless:Timers:Enabled"] = timers ? "true" : "false",
        ["ConnectionStrings:Postgres"] = TestServers.Postgres,
        ["ConnectionStrings:RabbitMq"] = TestServers.RabbitMq,
    };

    public async Task DropSchemaAsync()
    {
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {Schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}

/// <summary>
/// Test classes whose distributed hosts run timers, one class at a time: Quartz keeps one scheduler per name per
/// process, so two such hosts of different classes side by side would share one scheduler (on the first one's
/// schema), and the first to stop would shut it down under the other.
/// </summary>
public static class DistributedTimers
{
    public const string Collection = "distributed-timers";
}
