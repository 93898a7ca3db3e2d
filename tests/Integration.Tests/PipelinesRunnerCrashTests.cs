using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// A step runner in its own process (tests/Integration.Worker with the pipelines runner role only), really killed
/// mid-step: its dispatch was acknowledged when the step started, so nothing is redelivered; the runner's lease
/// (short here) lapses, and the orchestrator records the attempt as Lost and dispatches a second attempt, which the
/// next runner runs. The test host is the orchestrator and API, with no runner of its own.
/// </summary>
[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesRunnerCrashTests : IAsyncLifetime
{
    private readonly string _schema = "pipecrash_" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _workDirectory = Directory.CreateTempSubdirectory("pipeline-runs-").FullName;
    private readonly List<Process> _processes = [];
    private readonly ConcurrentQueue<string> _output = new();
    private LocalHost _host = null!;
    private HttpClient _admin = null!;

    private Dictionary<string, string?> Settings => new()
    {
        ["Serverless:Profile"] = "distributed",
        ["Serverless:PostgresSchema"] = _schema,
        ["Serverless:Timers:Enabled"] = "false",
        ["ConnectionStrings:Postgres"] = TestServers.Postgres,
        ["ConnectionStrings:RabbitMq"] = TestServers.RabbitMq,
        ["Pipelines:WorkDirectory"] = _workDirectory,
        ["Pipelines:Runner:LeaseSeconds"] = "2",
    };

    public ValueTask InitializeAsync()
    {
        _host = new LocalHost(settings: new Dictionary<string, string?>(Settings) { ["Pipelines:Runner:Enabled"] = "false" });
        _admin = _host.CreateClient(_host.AdminKey);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }

            process.Dispose();
        }

        await _host.DisposeAsync();
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
        Directory.Delete(_workDirectory, recursive: true);
    }

    /// <summary>
    /// Starts a runner and waits until it is consuming: its subscription queue is declared by its first start, and a
    /// dispatch published to the topic before any runner declared that queue would have nowhere to go.
    /// </summary>
    private async Task<Process> StartRunnerAsync()
    {
        var worker = typeof(DistributedPipelinesRunnerCrashTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "WorkerPath").Value!;
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(worker);
        var settings = new Dictionary<string, string?>(Settings)
        {
            ["Worker:Pipelines"] = "true",
            ["Pipelines:Orchestrator:Enabled"] = "false",
            ["Worker:Topic"] = "pipecrash.unused",
        };
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, e) => _output.Enqueue($"[{process.Id}] {e.Data}");
        process.ErrorDataReceived += (_, e) => _output.Enqueue($"[{process.Id} err] {e.Data}");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!_output.Contains($"[{process.Id}] WORKER READY"))
        {
            Assert.False(process.HasExited, $"the runner exited:\n{string.Join('\n', _output.TakeLast(60))}");
            Assert.True(DateTime.UtcNow < deadline, $"the runner did not start:\n{string.Join('\n', _output.TakeLast(60))}");
            await Task.Delay(50);
        }

        return process;
    }

    private async Task<JsonElement> WaitForRunAsync(string runId, Func<JsonElement, bool> done, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var run = await _admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}");
            if (done(run))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}; the run is {run}\nrunner output:\n{string.Join('\n', _output.TakeLast(60))}");
            }

            await Task.Delay(100);
        }
    }

    private static JsonElement Step(JsonElement run, string id) => run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    [Fact]
    public async Task A_runner_killed_mid_step_has_the_step_run_again_as_a_second_attempt()
    {
        // The first execution leaves a mark in the run directory and hangs; the second sees the mark and finishes.
        var saved = await _admin.PutAsync("/api/pipelines/survivor", new StringContent("""
            name: survivor
            steps:
              - id: work
                kind: script
                run: 'if [ -f "$HOME/once" ]; then echo second; else touch "$HOME/once"; echo first; sleep 120; fi'
              - {id: after, kind: script, needs: [work], run: "echo after"}
            """, Encoding.UTF8, "application/yaml"));
        Assert.True(saved.IsSuccessStatusCode, await saved.Content.ReadAsStringAsync());
        var first = await StartRunnerAsync();
        var started = await _admin.PostAsJsonAsync("/api/pipelines/survivor/runs", new { parameters = new { } });
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var runId = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;

        await WaitForRunAsync(runId, r => Step(r, "work").GetProperty("status").GetString() == "Running" && File.Exists(Path.Combine(_workDirectory, "runs", runId, "once")), "the first runner to start the script");
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await _admin.GetStringAsync($"/api/runs/{runId}/steps/work/log?attempt=1") != "first\n")
        {
            Assert.True(DateTime.UtcNow < deadline, "the first runner's log never reached the store");
            await Task.Delay(100); // the runner flushes its log on its cancel-poll interval
        }

        first.Kill(entireProcessTree: true);
        await first.WaitForExitAsync();

        await StartRunnerAsync();
        var run = await WaitForRunAsync(runId, r => r.GetProperty("status").GetString() is "Succeeded" or "Failed" or "Cancelled", "the run to finish on the second runner");
        Assert.Equal("Succeeded", run.GetProperty("status").GetString());
        var attempts = Step(run, "work").GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.Equal("Lost", attempts[0].GetProperty("outcome").GetString());
        Assert.Equal("the runner stopped renewing its lease", attempts[0].GetProperty("error").GetString());
        Assert.False(attempts[0].TryGetProperty("handedOver", out _), "a killed runner hands nothing over");
        Assert.Equal(1, attempts[1].GetProperty("restartOf").GetInt32());
        Assert.Equal("Succeeded", attempts[1].GetProperty("outcome").GetString());
        Assert.Equal(1, Step(run, "after").GetProperty("attempts").GetArrayLength());
        Assert.Equal("second\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/work/log"));
        Assert.Equal("first\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/work/log?attempt=1"));
    }
}
