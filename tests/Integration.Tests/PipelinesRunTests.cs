using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>Pipelines end to end in the main job: save YAML over HTTP, start runs, follow them to the end.</summary>
public abstract class PipelinesRunContract : IAsyncLifetime
{
    private LocalHost _host = null!;
    private HttpClient _admin = null!;

    protected virtual IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>();

    public ValueTask InitializeAsync()
    {
        var settings = new Dictionary<string, string?>(ProfileSettings)
        {
            ["Pipelines:Http:AllowList:0"] = "127.0.0.0/8",
            ["Pipelines:Deploy:HealthCheckAttempts"] = "2",
            ["Pipelines:Deploy:HealthCheckInterval"] = "00:00:00.050",
        };
        _host = new LocalHost(settings: settings);
        _admin = _host.CreateClient(_host.AdminKey);
        return ValueTask.CompletedTask;
    }

    public virtual async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private async Task SaveAsync(string name, string yaml)
    {
        var response = await _admin.PutAsync($"/api/pipelines/{name}", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<string> StartAsync(string name, object? parameters = null)
    {
        var response = await _admin.PostAsJsonAsync($"/api/pipelines/{name}/runs", new { parameters = parameters ?? new { } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
    }

    private async Task<JsonElement> RunAsync(string runId)
    {
        var response = await _admin.GetAsync($"/api/runs/{runId}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /api/runs/{runId}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static JsonElement Step(JsonElement run, string id) => run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    /// <summary>Polls the run until <paramref name="done"/> holds; no sleeps as synchronisation, a deadline instead.</summary>
    private async Task<JsonElement> WaitForRunAsync(string runId, Func<JsonElement, bool> done, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var run = await RunAsync(runId);
            if (done(run))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}; the run is {run}");
            }

            await Task.Delay(50);
        }
    }

    private Task<JsonElement> WaitForStatusAsync(string runId, string status) =>
        WaitForRunAsync(runId, r => r.GetProperty("status").GetString() == status, $"run {runId} to be {status}");

    [Fact]
    public async Task A_saved_yaml_pipeline_runs_to_success_with_outputs_and_logs()
    {
        await SaveAsync("hello", """
            name: hello
            parameters:
              who: {type: string, default: world}
            steps:
              - id: greet
                kind: script
                run: echo "hello $WHO"; echo "greeting=hi $WHO" >> "$PIPELINE_OUTPUT"
                env: {WHO: "${{ parameters.who }}"}
                outputs: [greeting]
              - id: after
                kind: script
                needs: [greet]
                run: test "$G" = "hi ana"
                env: {G: "${{ steps.greet.outputs.greeting }}"}
            """);
        var runId = await StartAsync("hello", new { who = "ana" });

        var run = await WaitForStatusAsync(runId, "Succeeded");
        Assert.Equal("hi ana", Step(run, "greet").GetProperty("outputs").GetProperty("greeting").GetString());
        Assert.Equal("hello ana\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/greet/log"));
        Assert.Contains("flowchart LR", await _admin.GetStringAsync($"/api/runs/{runId}/graph?format=mermaid"), StringComparison.Ordinal);
        var runs = await _admin.GetFromJsonAsync<JsonElement>("/api/pipelines/hello/runs?status=succeeded");
        Assert.Equal(runId, Assert.Single(runs.GetProperty("items").EnumerateArray()).GetProperty("runId").GetString());
    }

    [Fact]
    public async Task An_invalid_document_and_bad_parameters_are_400_with_every_problem_by_path()
    {
        var response = await _admin.PutAsync("/api/pipelines/broken", new StringContent("""
            name: broken
            steps:
              - {id: a, kind: script, run: "true"}
              - {id: b, kind: script, run: "true", needs: [nope]}
            """, Encoding.UTF8, "application/yaml"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("steps[1].needs[0]", out _), problem.ToString());

        await SaveAsync("typed", """
            name: typed
            parameters:
              env: {type: choice, options: [staging, prod], required: true}
              count: {type: number, default: 1}
            steps:
              - {id: a, kind: script, run: "true"}
            """);
        var start = await _admin.PostAsJsonAsync("/api/pipelines/typed/runs", new { parameters = new { env = "moon", count = "many", extra = "x" } });
        Assert.Equal(HttpStatusCode.BadRequest, start.StatusCode);
        var errors = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("parameters.env", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("parameters.count", out _), errors.ToString());
        Assert.True(errors.TryGetProperty("parameters.extra", out _), errors.ToString());
    }

    [Fact]
    public async Task A_failed_step_succeeds_when_the_run_is_retried()
    {
        await SaveAsync("flaky", """
            name: flaky
            steps:
              - {id: check, kind: script, run: "test -f ready || { echo not ready; exit 3; }"}
              - {id: after, kind: script, needs: [check], run: "echo done"}
            """);
        var runId = await StartAsync("flaky");
        var failed = await WaitForStatusAsync(runId, "Failed");
        Assert.Equal("Skipped", Step(failed, "after").GetProperty("status").GetString());

        // The script depends on a file in the run's working directory; make it pass, then retry.
        await File.WriteAllTextAsync(Path.Combine(_host.DataDirectory, "pipelines", "runs", runId, "ready"), "yes");
        Assert.Equal(HttpStatusCode.Accepted, (await _admin.PostAsync($"/api/runs/{runId}/retry", null)).StatusCode);
        var run = await WaitForStatusAsync(runId, "Succeeded");
        Assert.Equal(2, Step(run, "check").GetProperty("attempts").GetArrayLength());
        Assert.Equal(1, run.GetProperty("generation").GetInt32());
    }

    [Fact]
    public async Task An_approval_step_waits_until_approved()
    {
        await SaveAsync("gated", """
            name: gated
            steps:
              - {id: gate, kind: approval, approvers: [ana, bo]}
              - {id: ship, kind: script, needs: [gate], run: "echo shipped"}
            """);
        var runId = await StartAsync("gated");
        await WaitForRunAsync(runId, r => Step(r, "gate").GetProperty("status").GetString() == "AwaitingApproval", "the approval request");

        var stranger = await _admin.PostAsJsonAsync($"/api/runs/{runId}/steps/gate/approve", new { by = "mallory" });
        Assert.Equal(HttpStatusCode.Conflict, stranger.StatusCode);
        var approved = await _admin.PostAsJsonAsync($"/api/runs/{runId}/steps/gate/approve", new { by = "ana", comment = "lgtm" });
        Assert.Equal(HttpStatusCode.Accepted, approved.StatusCode);
        var run = await WaitForStatusAsync(runId, "Succeeded");
        Assert.Equal("ana", Step(run, "gate").GetProperty("votes")[0].GetProperty("user").GetString());
    }

    [Fact]
    public async Task Cancelling_stops_the_running_script_and_runs_finally_steps()
    {
        await SaveAsync("long", """
            name: long
            steps:
              - {id: work, kind: script, run: "echo started; sleep 60"}
            finally:
              - {id: cleanup, kind: script, run: "echo cleaned"}
            """);
        var runId = await StartAsync("long");
        await WaitForRunAsync(runId, r => Step(r, "work").GetProperty("status").GetString() == "Running", "the script to start");
        var started = DateTime.UtcNow;
        Assert.Equal(HttpStatusCode.Accepted, (await _admin.PostAsync($"/api/runs/{runId}/cancel", null)).StatusCode);

        var run = await WaitForStatusAsync(runId, "Cancelled");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the sleeping script was not killed");
        Assert.Equal("Cancelled", Step(run, "work").GetProperty("status").GetString());
        Assert.Equal("Succeeded", Step(run, "cleanup").GetProperty("status").GetString());
        Assert.Equal("cleaned\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/cleanup/log"));
    }

    [Fact]
    public async Task A_parameter_cannot_inject_shell_syntax()
    {
        var marker = Path.Combine(Path.GetTempPath(), "pwned-" + Guid.NewGuid().ToString("N"));
        await SaveAsync("echo", """
            name: echo
            parameters:
              msg: {type: string}
            steps:
              - {id: say, kind: script, run: 'echo "$MSG"', env: {MSG: "${{ parameters.msg }}"}}
            """);
        var payload = $"\"; touch {marker} #";
        var runId = await StartAsync("echo", new { msg = payload });

        await WaitForStatusAsync(runId, "Succeeded");
        Assert.False(File.Exists(marker), "the parameter was executed");
        Assert.Equal(payload + "\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/say/log"));
    }

    [Fact]
    public async Task An_scm_push_starts_the_matching_pipelines_only()
    {
        await SaveAsync("on-push", """
            name: on-push
            triggers:
              - {kind: push, repository: acme/web, branches: [main]}
            parameters:
              commit: {type: string, default: none}
            steps:
              - {id: build, kind: script, run: 'echo "building $COMMIT"', env: {COMMIT: "${{ parameters.commit }}"}}
            """);
        await SaveAsync("other-repo", """
            name: other-repo
            triggers:
              - {kind: push, repository: acme/api}
            steps:
              - {id: build, kind: script, run: "true"}
            """);
        var push = """
            {"specversion":"1.0","id":"push-1","source":"/tests","type":"scm.push","datacontenttype":"application/json",
             "data":{"provider":"github","repository":"acme/web","ref":"refs/heads/main","before":"000","after":"abc123",
                     "commits":[{"id":"abc123","message":"m","added":["src/a.cs"],"modified":[],"removed":[]}],"pusher":"ana"}}
            """;
        var response = await _admin.PostAsync("/api/events/scm.push", new StringContent(push, Encoding.UTF8, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        string? runId = null;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (runId is null)
        {
            var runs = await _admin.GetFromJsonAsync<JsonElement>("/api/pipelines/on-push/runs");
            runId = runs.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("runId").GetString()).FirstOrDefault();
            Assert.True(DateTime.UtcNow < deadline, "no run started for the push");
            await Task.Delay(50);
        }

        var run = await WaitForStatusAsync(runId, "Succeeded");
        Assert.Equal("abc123", run.GetProperty("trigger").GetProperty("commit").GetString());
        Assert.Equal("building abc123\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/build/log"));
        Assert.Empty((await _admin.GetFromJsonAsync<JsonElement>("/api/pipelines/other-repo/runs")).GetProperty("items").EnumerateArray());
    }

    [Fact]
    public async Task A_step_past_its_timeout_is_killed_and_a_retry_waits_its_backoff()
    {
        await SaveAsync("timeouts", """
            name: timeouts
            steps:
              - {id: hang, kind: script, run: "sleep 60", timeout: 1s}
              - id: flaky
                kind: script
                run: "if [ -f once ]; then echo second; else touch once; echo first; exit 1; fi"
                retries: {limit: 1, backoff: 300ms}
            """);
        var started = DateTime.UtcNow;
        var runId = await StartAsync("timeouts");

        var run = await WaitForStatusAsync(runId, "Failed");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "the hanging script outlived its timeout");
        Assert.Equal("TimedOut", Step(run, "hang").GetProperty("attempts")[0].GetProperty("outcome").GetString());
        var flaky = Step(run, "flaky");
        Assert.Equal("Succeeded", flaky.GetProperty("status").GetString());
        var attempts = flaky.GetProperty("attempts");
        Assert.Equal(2, attempts.GetArrayLength());
        Assert.True(attempts[1].GetProperty("startedAt").GetDateTimeOffset() - attempts[0].GetProperty("finishedAt").GetDateTimeOffset() >= TimeSpan.FromMilliseconds(250), "the retry did not wait for its backoff");
        Assert.Equal("second\n", await _admin.GetStringAsync($"/api/runs/{runId}/steps/flaky/log"));
    }

    [Fact]
    public async Task A_followed_log_streams_until_the_step_ends()
    {
        await SaveAsync("chatty", """
            name: chatty
            steps:
              - {id: talk, kind: script, run: "echo one; sleep 1; echo two"}
            """);
        var runId = await StartAsync("chatty");
        await WaitForRunAsync(runId, r => Step(r, "talk").GetProperty("status").GetString() is "Running" or "Succeeded", "the step to start");

        var followed = await _admin.GetStringAsync($"/api/runs/{runId}/steps/talk/log?follow=true");
        Assert.Equal("one\ntwo\n", followed);
    }

    [Fact]
    public async Task An_http_step_calls_an_allowed_address_and_outputs_the_status()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        await SaveAsync("ping", $$"""
            name: ping
            steps:
              - {id: ping, kind: http, url: "{{target.BaseUrl}}/health", outputs: [status]}
              - {id: meta, kind: http, url: "http://169.254.169.254/latest/meta-data/", when: "always()"}
            """);
        var runId = await StartAsync("ping");

        var run = await WaitForStatusAsync(runId, "Failed");
        Assert.Equal("200", Step(run, "ping").GetProperty("outputs").GetProperty("status").GetString());
        Assert.Equal("Failed", Step(run, "meta").GetProperty("status").GetString());
        Assert.Contains("may not reach", Step(run, "meta").GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_deploy_whose_health_check_fails_is_rolled_back()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        await SaveAsync("release", $$"""
            name: release
            steps:
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{target.BaseUrl}}/health"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var runId = await StartAsync("release");

        var run = await WaitForStatusAsync(runId, "Failed");
        Assert.Contains("rolled back to 1", Step(run, "deploy").GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(
            ["GET /deploy", "POST /deploy deployInstances 2", "GET /health", "GET /health", "POST /deploy deployInstances 1", "GET /health"],
            target.Calls.ToArray());
        Assert.Equal("1", target.Version);
    }
}

public sealed class EmbeddedPipelinesRunTests : PipelinesRunContract;

/// <summary>Schedules need the timer engine, which the distributed test hosts switch off.</summary>
public sealed class PipelineScheduleTests : IAsyncLifetime
{
    private readonly LocalHost _host = new();
    private HttpClient _admin = null!;

    public ValueTask InitializeAsync()
    {
        _admin = _host.CreateClient(_host.AdminKey);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task A_schedule_trigger_starts_runs()
    {
        var saved = await _admin.PutAsync("/api/pipelines/nightly", new StringContent("""
            name: nightly
            triggers:
              - {kind: schedule, cron: "* * * * * *"}
            steps:
              - {id: tick, kind: script, run: "echo tick"}
            """, Encoding.UTF8, "application/yaml"));
        Assert.True(saved.IsSuccessStatusCode);

        JsonElement first = default;
        await Recording.WaitUntilAsync(() =>
        {
            var items = _admin.GetFromJsonAsync<JsonElement>("/api/pipelines/nightly/runs").GetAwaiter().GetResult().GetProperty("items");
            if (items.GetArrayLength() == 0)
            {
                return false;
            }

            first = items[0];
            return true;
        }, TimeSpan.FromSeconds(30), "a scheduled run");
        Assert.Equal("schedule", first.GetProperty("trigger").GetString());
    }
}

public sealed class DistributedPipelinesRunTests : PipelinesRunContract
{
    private readonly string _schema = "pipelines_" + Guid.NewGuid().ToString("N")[..10];

    protected override IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>
    {
        ["Serverless:Profile"] = "distributed",
        ["Serverless:PostgresSchema"] = _schema,
        ["Serverless:Timers:Enabled"] = "false",
        ["ConnectionStrings:Postgres"] = TestServers.Postgres,
        ["ConnectionStrings:RabbitMq"] = TestServers.RabbitMq,
    };

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(TestServers.Postgres);
        await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
        await drop.ExecuteNonQueryAsync();
    }
}
