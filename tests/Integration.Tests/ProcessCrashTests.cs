using System.Diagnostics;
using System.Reflection;
using Microsoft.Data.Sqlite;
using Npgsql;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Integration.Tests;

/// <summary>
/// Real processes (tests/Integration.Worker), really killed: a consumer killed mid-handling gets its event
/// redelivered to the next instance, and a process that dies right after committing state + outbox still
/// publishes the event once it (or another instance) starts again. Run on both profiles.
/// </summary>
public abstract class ProcessCrashContract : IAsyncLifetime
{
    private readonly List<Process> _processes = [];
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> _ready = new();

    protected string Topic { get; } = "crash." + Guid.NewGuid().ToString("N")[..8];

    protected abstract IReadOnlyDictionary<string, string> ProfileSettings { get; }

    /// <summary>Keys in the profile's state store that start with <paramref name="prefix"/>, read directly.</summary>
    protected abstract Task<List<(string Key, string Value)>> ReadStateAsync(string prefix);

    /// <summary>The profile's state store, opened by the test itself (while no worker runs, for SQLite's sake).</summary>
    protected abstract Task<(IStateStore State, IAsyncDisposable Lifetime)> OpenStateAsync();

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    /// <summary>(key, value) pairs from a query selecting exactly those two text columns.</summary>
    protected static async Task<List<(string Key, string Value)>> ReadRowsAsync(System.Data.Common.DbCommand command)
    {
        var rows = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetString(0), reader.GetString(1)));
        }

        return rows;
    }

    public virtual ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }

            process.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    protected Process StartWorker(params (string Key, string Value)[] settings)
    {
        var worker = typeof(ProcessCrashContract).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WorkerPath").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(worker);
        var all = ProfileSettings.Select(p => (p.Key, p.Value))
            .Append(("Worker:Topic", Topic))
            .Append(("Worker:Subscription", Topic + ".worker"))
            .Append(("Serverless:PubSub:InitialBackoff", "00:00:00.050"))
            .Concat(settings);
        foreach (var (key, value) in all)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) =>
        {
            _output.Enqueue($"[{process.Id}] {e.Data}");
            if (e.Data == "WORKER READY")
            {
                _ready[process.Id] = true;
            }
        };
        process.ErrorDataReceived += (_, e) => _output.Enqueue($"[{process.Id} err] {e.Data}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    protected async Task<List<(string Key, string Value)>> WaitForStateAsync(string prefix, Func<List<(string Key, string Value)>, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var rows = await ReadStateAsync(prefix);
            if (condition(rows))
            {
                return rows;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}; state under '{prefix}': {string.Join(", ", rows.Select(r => r.Key))}\nworker output:\n{string.Join('\n', _output.TakeLast(60))}");
            }

            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_consumer_killed_mid_handling_has_its_event_redelivered_to_the_next_instance()
    {
        var first = StartWorker(("Worker:Publish", "killed-1"), ("Worker:Hang", "true"));
        await WaitForStateAsync("worker||started||killed-1||", rows => rows.Count == 1, "the first worker to start handling");
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();

        var second = StartWorker();
        var done = await WaitForStateAsync("worker||done||killed-1||", rows => rows.Count == 1, "the second worker to finish the event");
        Assert.EndsWith(second.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), done[0].Key, StringComparison.Ordinal);

        var started = await ReadStateAsync("worker||started||killed-1||");
        Assert.Equal(2, started.Count);
        Assert.Contains(started, r => r.Key.EndsWith(first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) && r.Value == "first");
        Assert.Contains(started, r => r.Key.EndsWith(second.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal) && r.Value == "redelivered");
    }

    [Fact]
    public async Task Killing_the_delivery_worker_mid_flight_still_delivers_every_event_with_its_webhook_id()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        var (state, lifetime) = await OpenStateAsync();
        await using (lifetime)
        {
            var registry = new EndpointRegistry(state, TimeProvider.System, new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"])));
            // 5 deliveries/s: the 20 take ~4 s, so the kill lands mid-flight, after every event was published.
            Assert.True((await registry.CreateAsync(new EndpointRequest(receiver.BaseUrl + "/slow", ["test.*"], RateLimitPerSecond: 5))).Succeeded);
        }

        (string, string)[] webhooks =
        [
            ("Worker:Webhooks", "true"), ("Webhooks:Outbound:AllowList:0", "127.0.0.0/8"), ("Webhooks:Outbound:Topics:0", Topic),
            ("Webhooks:Outbound:LeaseSeconds", "2"), ("Webhooks:Outbound:RetryDelays:0", "00:00:00"), ("Webhooks:Outbound:RetryDelays:1", "00:00:00.200"),
        ];
        var first = StartWorker([.. webhooks, ("Worker:PublishCount", "20")]);
        await Recording.WaitUntilAsync(() => _ready.ContainsKey(first.Id) && receiver.Requests.Count >= 3, TimeSpan.FromSeconds(60), "all events published and the first deliveries");
        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();

        StartWorker(webhooks);
        var expected = Enumerable.Range(0, 20).Select(i => $"evt-{i}").ToHashSet();
        try
        {
            await Recording.WaitUntilAsync(() => receiver.Requests.Select(r => r.Headers["webhook-id"].ToString()).ToHashSet().IsSupersetOf(expected), TimeSpan.FromSeconds(60), "every event delivered");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var seen = receiver.Requests.Select(r => r.Headers["webhook-id"].ToString()).ToHashSet();
            Assert.Fail($"{ex.Message} Missing: {string.Join(", ", expected.Except(seen))}\nworker output:\n{string.Join('\n', _output.TakeLast(80))}");
        }
        Assert.All(receiver.Requests, r => Assert.Equal(r.Headers["webhook-id"].ToString(), System.Text.Json.JsonDocument.Parse(r.Body).RootElement.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task A_crash_right_after_committing_state_and_outbox_still_publishes_the_event()
    {
        var crashing = StartWorker(("Worker:Mode", "commit-and-crash"), ("Worker:EventId", "outbox-1"));
        await crashing.WaitForExitAsync();
        Assert.NotEqual(0, crashing.ExitCode);
        Assert.Single(await ReadStateAsync("worker||order"));

        StartWorker();
        await WaitForStateAsync("worker||done||outbox-1||", rows => rows.Count >= 1, "the event committed before the crash to be handled");
    }
}

public sealed class EmbeddedProcessCrashTests : ProcessCrashContract
{
    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("crash-").FullName;

    protected override IReadOnlyDictionary<string, string> ProfileSettings => new Dictionary<string, string>
    {
        ["Serverless:Profile"] = "embedded",
        ["Serverless:DataDirectory"] = _dataDirectory,
    };

    protected override async Task<List<(string Key, string Value)>> ReadStateAsync(string prefix)
    {
        var path = Path.Combine(_dataDirectory, "serverless.db");
        if (!File.Exists(path))
        {
            return [];
        }

        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT key, CAST(value AS TEXT) FROM state WHERE substr(key, 1, length($p)) = $p ORDER BY key";
        command.Parameters.AddWithValue("$p", prefix);
        try
        {
            return await ReadRowsAsync(command);
        }
        catch (SqliteException ex) when (ex.SqliteErrorCode == 1)
        {
            return []; // the table is not created yet
        }
    }

    protected override async Task<(IStateStore State, IAsyncDisposable Lifetime)> OpenStateAsync()
    {
        var database = new SqliteDatabase(Path.Combine(_dataDirectory, "serverless.db"), Microsoft.Extensions.Logging.Abstractions.NullLogger<SqliteDatabase>.Instance);
        return (await SqliteStateStore.OpenAsync(database, new OutboxSignal()), database);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dataDirectory, recursive: true);
    }
}

public sealed class DistributedProcessCrashTests : ProcessCrashContract
{
    private readonly string _schema = "crash_" + Guid.NewGuid().ToString("N")[..10];
    private NpgsqlDataSource? _dataSource;

    protected override IReadOnlyDictionary<string, string> ProfileSettings => new Dictionary<string, string>
    {
        ["Serverless:Profile"] = "distributed",
        ["Serverless:PostgresSchema"] = _schema,
        ["ConnectionStrings:Postgres"] = TestServers.Postgres,
        ["ConnectionStrings:RabbitMq"] = TestServers.RabbitMq,
        ["Serverless:Timers:Enabled"] = "false",
    };

    public override ValueTask InitializeAsync()
    {
        _dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        _ = TestServers.RabbitMq;
        return ValueTask.CompletedTask;
    }

    protected override async Task<(IStateStore State, IAsyncDisposable Lifetime)> OpenStateAsync()
    {
        var store = await PostgresStateStore.OpenAsync(_dataSource!, _schema, new OutboxSignal());
        return (store, store);
    }

    protected override async Task<List<(string Key, string Value)>> ReadStateAsync(string prefix)
    {
        await using var command = _dataSource!.CreateCommand($"SELECT key, convert_from(value, 'UTF8') FROM {_schema}.state WHERE starts_with(key, $1) ORDER BY key");
        command.Parameters.AddWithValue(prefix);
        try
        {
            return await ReadRowsAsync(command);
        }
        catch (PostgresException ex) when (ex.SqlState is "42P01" or "3F000")
        {
            return [];
        }
    }

    [Fact]
    public async Task Two_processes_fire_each_timer_occurrence_once_and_the_survivor_takes_over_when_the_firing_one_is_killed()
    {
        (string, string)[] timer = [("Serverless:Timers:Enabled", "true"), ("Worker:Timer", "cluster-tick")];
        var first = StartWorker(timer);
        var second = StartWorker(timer);
        var before = await WaitForStateAsync("worker||tick||", rows => rows.Count >= 5, "five occurrences fired by the two-process cluster");

        // Kill whichever process fired last: the other one must carry on (after Quartz presumes the dead node gone).
        var lastFirer = before[^1].Value;
        var (victim, survivor) = lastFirer == first.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) ? (first, second) : (second, first);
        victim.Kill(entireProcessTree: true);
        await victim.WaitForExitAsync();
        var killedAt = before[^1].Key;

        var survivorId = survivor.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var after = await WaitForStateAsync(
            "worker||tick||",
            rows => rows.Count(r => string.CompareOrdinal(r.Key, killedAt) > 0 && r.Value == survivorId) >= 3,
            "three occurrences fired by the survivor after the kill");

        Assert.Empty(await ReadStateAsync("worker||tick-duplicate||"));
        Assert.Equal(after.Count, after.Select(r => r.Key).Distinct().Count());
        Assert.All(after.Where(r => string.CompareOrdinal(r.Key, killedAt) > 0), r => Assert.Equal(survivorId, r.Value));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_dataSource is not null)
        {
            await using var drop = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            await drop.ExecuteNonQueryAsync();
            await _dataSource.DisposeAsync();
        }
    }
}
