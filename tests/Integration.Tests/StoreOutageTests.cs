using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Pipelines.Service.Runners;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// The main job on the distributed profile while its PostgreSQL goes away and comes back (a real server behind a
/// relay that resets every connection): requests that cannot be stored get 503 with Retry-After, never a 2xx, and
/// once the database is back the same delivery is accepted and every accepted one is published; a pipeline step that
/// ends while the database is away is recorded once it is back, not run a second time after its lease.
/// </summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    private const string Secret = "outage-secret";
    private const string Body = """{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"retail/checkout"},"pusher":{"name":"octocat"},"commits":[]}""";

    private readonly DistributedProfile _profile = new("outage");
    private readonly Recording _recording = new();
    private readonly RunnerLog _runnerLog = new();
    private TcpRelay _relay = null!;
    private LocalHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        var postgres = new NpgsqlConnectionStringBuilder(TestServers.Postgres);
        _relay = new TcpRelay(postgres.Host!, postgres.Port);
        postgres.Host = "127.0.0.1";
        postgres.Port = _relay.Port;
        var settings = _profile.Settings();
        settings["ConnectionStrings:Postgres"] = postgres.ConnectionString;
        settings["Serverless:Http:ReadinessTimeout"] = "00:00:02";
        _host = new LocalHost(settings: settings, services: s =>
        {
            s.AddSingleton(_recording);
            s.AddSingleton(new HostName("a"));
            s.AddSubscription<RecordingHandler>("scm.push", "tests.outage-" + Guid.NewGuid().ToString("N")[..8]);
            s.AddSingleton<ILoggerProvider>(_runnerLog);
        });

        var put = await _host.CreateClient(_host.AdminKey).PutAsJsonAsync("/api/webhooks/sources/outage", new { kind = "github", secrets = new[] { Secret } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _relay.Restore();
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
        await _profile.DropSchemaAsync();
    }

    private static HttpRequestMessage Delivery(string deliveryId) => GitHubDeliveries.Push("outage", Secret, Body, deliveryId);

    [Fact]
    public async Task The_first_readiness_check_after_a_restart_nobody_polled_through_is_ready()
    {
        var client = _host.CreateClient(apiKey: null);
        // Open several pooled connections, as a busy instance has.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => client.GetAsync("/readyz")));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        // PostgreSQL restarts: every open connection is reset; it is back before anyone asks.
        _relay.Cut();
        _relay.Restore();
        var ready = await client.GetAsync("/readyz");
        Assert.True(ready.StatusCode == HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_hung_PostgreSQL_makes_readiness_answer_unhealthy_within_its_timeout_and_ready_once_it_answers_again()
    {
        var client = _host.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        // The server hangs: connections stay open, nothing comes back (Npgsql's own command timeout is 30 s).
        _relay.Stall();
        var asked = System.Diagnostics.Stopwatch.StartNew();
        var hung = await client.GetAsync("/readyz");
        asked.Stop();
        var report = await hung.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, hung.StatusCode);
        var state = report.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "state");
        Assert.Equal("Unhealthy", state.GetProperty("status").GetString());
        Assert.Equal("no answer within 2 s", state.GetProperty("description").GetString());
        Assert.True(asked.Elapsed < TimeSpan.FromSeconds(20), $"/readyz took {asked.Elapsed} with a 2 s readiness timeout");

        _relay.Restore();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while ((await client.GetAsync("/readyz")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "/readyz was not ready within 30 s of the database answering again");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task While_PostgreSQL_is_unreachable_deliveries_get_503_with_retry_after_and_none_accepted_is_lost()
    {
        var client = _host.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Delivery("before"))).StatusCode);

        _relay.Cut();
        var refused = await client.SendAsync(Delivery("during"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ProblemMapping.RetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(Secret, problem.GetRawText(), StringComparison.Ordinal);

        // Back: the same delivery is taken (nothing of it was stored), after at most a few more 503s while the pool heals.
        _relay.Restore();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpStatusCode status;
        do
        {
            status = (await client.SendAsync(Delivery("during"))).StatusCode;
            Assert.True(status is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, $"answered {status} while the database came back");
            Assert.True(DateTime.UtcNow < deadline, "the delivery was not accepted within 30 s of the database coming back");
            if (status != HttpStatusCode.Accepted)
            {
                await Task.Delay(100);
            }
        }
        while (status != HttpStatusCode.Accepted);

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Delivery("during"))).StatusCode);
        await Recording.WaitUntilAsync(() => _recording.Events.Select(e => e.EventId).Distinct().Count() >= 2, TimeSpan.FromSeconds(30), "both accepted pushes published");
        Assert.Equal(2, _recording.Events.Select(e => e.EventId).Distinct().Count());
    }

    [Fact]
    public async Task A_step_that_ends_while_PostgreSQL_is_unreachable_is_recorded_when_it_is_back_and_runs_once()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var saved = await admin.PutAsync("/api/pipelines/outage", new StringContent("""
            name: outage
            steps:
              - id: work
                kind: script
                run: 'echo ran >> "$HOME/count"; while [ ! -f "$HOME/go" ]; do sleep 0.05; done; echo "the last line"; echo ended > "$HOME/ended"'
              - {id: after, kind: script, needs: [work], run: "echo after"}
            """, Encoding.UTF8, "application/yaml"));
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync());
        var started = await admin.PostAsJsonAsync("/api/pipelines/outage/runs", new { parameters = new { } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
        var directory = Path.Combine(_host.DataDirectory, "pipelines", "runs", runId);
        await Recording.WaitUntilAsync(() => File.Exists(Path.Combine(directory, "count")), TimeSpan.FromSeconds(30), "the step to start");

        // The step ends while the database is away: its runner cannot record the result (nor flush the log's last lines).
        _relay.Cut();
        await File.WriteAllTextAsync(Path.Combine(directory, "go"), string.Empty, TestContext.Current.CancellationToken);
        // Until the runner has tried (and is trying again), or has given the execution up (its slot free again).
        var slots = _host.Services.GetRequiredService<RunnerSlots>();
        await Recording.WaitUntilAsync(
            () => _runnerLog.ReportFailures(runId) > 0 || (File.Exists(Path.Combine(directory, "ended")) && slots.InUse == 0),
            TimeSpan.FromSeconds(30),
            "the runner to try to record the result while the database is away");
        _relay.Restore();

        // Back within the lease (60 s): the result is recorded and the run goes on, with the step's one attempt. Before,
        // the failed report was dropped and the step ran again as attempt 2 once its lease had lapsed.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        JsonElement run;
        while (true)
        {
            var answer = await admin.GetAsync($"/api/runs/{runId}");
            if (answer.IsSuccessStatusCode)
            {
                run = await answer.Content.ReadFromJsonAsync<JsonElement>();
                if (run.GetProperty("status").GetString() is not "Running" and not "Queued")
                {
                    break;
                }
            }

            Assert.True(DateTime.UtcNow < deadline, $"the run did not finish within 30 s of the database coming back: {await answer.Content.ReadAsStringAsync()}");
            await Task.Delay(100);
        }

        Assert.Equal("Succeeded", run.GetProperty("status").GetString());
        var attempts = run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == "work").GetProperty("attempts").EnumerateArray().ToList();
        Assert.Equal("Succeeded", Assert.Single(attempts).GetProperty("outcome").GetString());
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(directory, "count"), TestContext.Current.CancellationToken));

        // The line the step wrote while the database was away is in its log: a failed flush keeps what it could not write.
        Assert.Contains("the last line", await admin.GetStringAsync($"/api/runs/{runId}/steps/work/log"), StringComparison.Ordinal);
    }

    /// <summary>Counts the step runner's failed tries to record a result, by run.</summary>
    private sealed class RunnerLog : ILoggerProvider
    {
        private readonly ConcurrentDictionary<string, int> _reportFailures = new(StringComparer.Ordinal);

        public int ReportFailures(string runId) => _reportFailures.TryGetValue(runId, out var count) ? count : 0;

        public ILogger CreateLogger(string categoryName) => categoryName == typeof(StepRunner).FullName ? new Logger(this) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

        public void Dispose()
        {
        }

        private sealed class Logger(RunnerLog owner) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (state is IReadOnlyList<KeyValuePair<string, object?>> values
                    && values.Any(v => v.Key == "{OriginalFormat}" && v.Value is string format && format.StartsWith("The {What} of run {RunId} step {StepId} attempt {Attempt} could not be written yet", StringComparison.Ordinal))
                    && values.FirstOrDefault(v => v.Key == "RunId").Value is string runId)
                {
                    owner._reportFailures.AddOrUpdate(runId, 1, (_, count) => count + 1);
                }
            }
        }
    }
}
