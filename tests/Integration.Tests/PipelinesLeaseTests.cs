using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.Telemetry;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;

namespace Integration.Tests;

/// <summary>
/// Runner leases end to end, on a host of their own with a short lease (2 s, renewed every ~0.7 s): a step that runs
/// for many lease periods has its dispatch acknowledged when it starts and runs exactly once (the stand-in for a step
/// outliving RabbitMQ's consumer timeout, which cannot be shortened for one test); a host stopped mid-step gives
/// the step up and the next host runs it as a second attempt, each lease naming its host's <c>Serverless:InstanceId</c>.
/// </summary>
public abstract class PipelinesLeaseContract : IAsyncLifetime
{
    private const string LeaseSeconds = "2";

    private readonly List<LocalHost> _hosts = [];
    private string _dataDirectory = null!;

    protected virtual IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>();

    public ValueTask InitializeAsync()
    {
        _dataDirectory = Directory.CreateTempSubdirectory("pipeline-lease-").FullName;
        return ValueTask.CompletedTask;
    }

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            await host.DisposeAsync();
        }

        Directory.Delete(_dataDirectory, recursive: true);
    }

    /// <summary>A host on the shared data directory (embedded) or schema (distributed): the next one takes over where the last stopped.</summary>
    private (LocalHost Host, HttpClient Admin) StartHost(string? instanceId = null)
    {
        var settings = new Dictionary<string, string?>(ProfileSettings) { ["Pipelines:Runner:LeaseSeconds"] = LeaseSeconds };
        if (instanceId is not null)
        {
            settings["Serverless:InstanceId"] = instanceId;
        }

        var host = new LocalHost(_dataDirectory, settings);
        _hosts.Add(host);
        return (host, host.CreateClient(host.AdminKey));
    }

    private string RunDirectory(string runId) => Path.Combine(_dataDirectory, "pipelines", "runs", runId);

    private static async Task<string> StartRunAsync(HttpClient admin, string name, string yaml)
    {
        var saved = await admin.PutAsync($"/api/pipelines/{name}", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync());
        var started = await admin.PostAsJsonAsync($"/api/pipelines/{name}/runs", new { parameters = new { } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        return (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, Func<Task<string>> what, double seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {await what()}");
            }

            await Task.Delay(50);
        }
    }

    private static async Task<JsonElement> RunAsync(HttpClient admin, string runId) => await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}");

    private static JsonElement Step(JsonElement run, string id) => run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    [Fact]
    public async Task A_step_running_for_many_lease_periods_has_its_dispatch_acknowledged_at_once_and_runs_once()
    {
        // The runner's handler spans (one per delivery), by the run they dispatch: when they ended tells when the
        // transport was free to acknowledge.
        var handled = new ConcurrentQueue<string>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == ServerlessTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
            ActivityStopped = activity =>
            {
                if (activity.GetTagItem("messaging.consumer.group.name") as string == StepRunner.Subscription && activity.GetTagItem("cloudevents.event_subject") is string runId)
                {
                    handled.Enqueue(runId);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);

        var (host, admin) = StartHost();
        var runId = await StartRunAsync(admin, "long", """
            name: long
            steps:
              - id: work
                kind: script
                run: 'echo ran >> "$HOME/count"; while [ ! -f "$HOME/go" ]; do sleep 0.05; done; echo done'
            """);
        var directory = RunDirectory(runId);
        await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(directory, "count"))), () => Task.FromResult("the script to start"));

        // The step runs on, and the delivery that started it is settled already.
        await WaitUntilAsync(() => Task.FromResult(handled.Contains(runId)), () => Task.FromResult("the dispatch handler to return while the step runs"));
        Assert.False(File.Exists(Path.Combine(directory, "go")));
        await WaitUntilAsync(
            async () => Step(await RunAsync(admin, runId), "work").GetProperty("status").GetString() == "Running",
            async () => $"the start report to be applied: {await RunAsync(admin, runId)}");

        // Several lease periods pass; the runner keeps renewing, so the orchestrator never declares the attempt lost.
        var runs = host.Services.GetRequiredService<RunStore>();
        var first = (await runs.GetLeaseAsync(runId, "work", 1, CancellationToken.None))!;
        await WaitUntilAsync(
            async () => (await runs.GetLeaseAsync(runId, "work", 1, CancellationToken.None))!.Until > first.Until + TimeSpan.FromSeconds(3 * int.Parse(LeaseSeconds, System.Globalization.CultureInfo.InvariantCulture)),
            async () => $"the lease to be renewed across several periods; it is {await runs.GetLeaseAsync(runId, "work", 1, CancellationToken.None)}");
        Assert.Single(Step(await RunAsync(admin, runId), "work").GetProperty("attempts").EnumerateArray());

        await File.WriteAllTextAsync(Path.Combine(directory, "go"), string.Empty);
        await WaitUntilAsync(async () => (await RunAsync(admin, runId)).GetProperty("status").GetString() is "Succeeded" or "Failed", async () => $"the run to finish: {await RunAsync(admin, runId)}");
        var run = await RunAsync(admin, runId);
        Assert.Equal("Succeeded", run.GetProperty("status").GetString());
        Assert.Single(Step(run, "work").GetProperty("attempts").EnumerateArray());
        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(directory, "count")));
        Assert.Single(handled, id => id == runId);
        Assert.True((await runs.GetLeaseAsync(runId, "work", 1, CancellationToken.None))!.Ended);
    }

    [Fact]
    public async Task A_host_stopped_mid_step_gives_the_step_up_and_the_next_host_runs_it_as_a_second_attempt()
    {
        var (first, admin) = StartHost("lease-host-1");
        var runId = await StartRunAsync(admin, "restart", """
            name: restart
            steps:
              - id: work
                kind: script
                run: 'if [ -f "$HOME/once" ]; then echo second; else touch "$HOME/once"; echo first; sleep 120; fi'
              - {id: after, kind: script, needs: [work], run: "echo after"}
            """);
        await WaitUntilAsync(
            async () => Step(await RunAsync(admin, runId), "work").GetProperty("status").GetString() == "Running" && File.Exists(Path.Combine(RunDirectory(runId), "once")),
            async () => $"the first host to start the script: {await RunAsync(admin, runId)}");

        // A graceful stop: the script is killed, nothing is reported, and the lease is given up for the next host.
        var clock = Stopwatch.StartNew();
        await first.DisposeAsync();
        _hosts.Remove(first);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), $"the stop took {clock.Elapsed}");

        var (nextHost, next) = StartHost("lease-host-2");
        await WaitUntilAsync(async () => (await RunAsync(next, runId)).GetProperty("status").GetString() is "Succeeded" or "Failed" or "Cancelled", async () => $"the run to finish on the next host: {await RunAsync(next, runId)}");
        var run = await RunAsync(next, runId);
        Assert.Equal("Succeeded", run.GetProperty("status").GetString());
        var attempts = Step(run, "work").GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal("Lost", attempts[0].GetProperty("outcome").GetString());
        Assert.Equal("its runner was stopped and handed the attempt over", attempts[0].GetProperty("error").GetString());
        Assert.True(attempts[0].GetProperty("handedOver").GetBoolean());
        Assert.Equal(1, attempts[1].GetProperty("restartOf").GetInt32());
        Assert.Equal("Succeeded", attempts[1].GetProperty("outcome").GetString());
        Assert.Single(Step(run, "after").GetProperty("attempts").EnumerateArray());
        Assert.Equal("second\n", await next.GetStringAsync($"/api/runs/{runId}/steps/work/log"));
        Assert.StartsWith("first\n", await next.GetStringAsync($"/api/runs/{runId}/steps/work/log?attempt=1"), StringComparison.Ordinal);

        // Each lease names the instance that held it (Serverless:InstanceId), with a suffix of its own.
        var runs = nextHost.Services.GetRequiredService<RunStore>();
        Assert.StartsWith("lease-host-1/", (await runs.GetLeaseAsync(runId, "work", 1, CancellationToken.None))!.Runner, StringComparison.Ordinal);
        Assert.StartsWith("lease-host-2/", (await runs.GetLeaseAsync(runId, "work", 2, CancellationToken.None))!.Runner, StringComparison.Ordinal);
    }
}

public sealed class EmbeddedPipelinesLeaseTests : PipelinesLeaseContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesLeaseTests : PipelinesLeaseContract
{
    private readonly DistributedProfile _profile = new("pipelease");

    protected override IDictionary<string, string?> ProfileSettings => _profile.Settings();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _profile.DropSchemaAsync();
    }
}
