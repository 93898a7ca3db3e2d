using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// Two hosts of the main job on the distributed profile (separate DI containers): they pass events through
/// RabbitMQ, share state in PostgreSQL and share a timer that fires once per occurrence.
/// </summary>
[Collection(DistributedTimers.Collection)]
public sealed class DistributedHostsTests : IAsyncLifetime
{
    private readonly string _schema = "hosts_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _topic = "hosts." + Guid.NewGuid().ToString("N")[..8];
    private readonly Recording _recording = new();
    private LocalHost? _a;
    private LocalHost? _b;

    public ValueTask InitializeAsync()
    {
        _a = Create("a");
        _b = Create("b");
        _ = _a.Server;
        _ = _b.Server;
        return ValueTask.CompletedTask;
    }

    private LocalHost Create(string name) => new(
        settings: new Dictionary<string, string?>
        {
            ["Serverless:Profile"] = "distributed",
            ["Serverless:InstanceId"] = $"{_schema}-{name}",
            ["Serverless:PostgresSchema"] = _schema,
            ["ConnectionStrings:Postgres"] = TestServers.Postgres,
            ["ConnectionStrings:RabbitMq"] = TestServers.RabbitMq,
        },
        services: s =>
        {
            s.AddSingleton(_recording);
            s.AddSingleton(new HostName(name));
            s.AddTopic(_topic);
            s.AddSubscription<RecordingHandler>(_topic, _topic + ".recorder");
            s.AddTimer<RecordingTimer>(_topic + "-tick", "*/1 * * * * *");
        });

    public async ValueTask DisposeAsync()
    {
        if (_a is not null)
        {
            await _a.DisposeAsync();
        }

        if (_b is not null)
        {
            await _b.DisposeAsync();
        }

        await using var dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }

    [Fact]
    public async Task Events_pass_between_hosts_state_is_shared_and_the_timer_fires_once_per_occurrence()
    {
        var publisher = _a!.Services.GetRequiredService<IEventPublisher>();
        var ids = Enumerable.Range(0, 40).Select(i => $"evt-{i}").ToList();
        foreach (var id in ids)
        {
            await publisher.PublishAsync(_topic, new CloudEvent("/tests", "test.event", new { id }) { Id = id });
        }

        await Recording.WaitUntilAsync(() => ids.All(id => _recording.Events.Any(e => e.EventId == id)), TimeSpan.FromSeconds(30), "all 40 events");
        Assert.Equal(2, _recording.Events.Select(e => e.Host).Distinct().Count());

        var seenOnB = await _b!.Services.GetRequiredService<IStateStore>().ListKeysAsync("seen||", 1000);
        Assert.Equal(ids.Order(StringComparer.Ordinal), seenOnB.Keys.Select(k => k.Split("||")[1]).Distinct().Order(StringComparer.Ordinal));

        await Recording.WaitUntilAsync(() => _recording.Firings.Select(f => f.Scheduled).Distinct().Count() >= 4, TimeSpan.FromSeconds(30), "four timer occurrences");
        var firings = _recording.Firings.ToList();
        Assert.All(firings.GroupBy(f => f.Scheduled), g => Assert.Single(g));
    }
}
