using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Integration.Tests;

/// <summary>
/// How http and deploy steps end when their endpoints misbehave: no answer within the HTTP timeout is a timeout (not a
/// cancel), a network error during a deploy is rolled back, and an executor that throws fails its attempt at once.
/// </summary>
public abstract class PipelinesStepFailureContract : PipelinesApiContract
{
    protected override IDictionary<string, string?> ClassSettings => new Dictionary<string, string?> { ["Pipelines:Http:TimeoutSeconds"] = "2" };

    private static string Reason(JsonElement run, string step) => Step(run, step).GetProperty("reason").GetString()!;

    private static string[] Outcomes(JsonElement run, string step) =>
        Step(run, step).GetProperty("attempts").EnumerateArray().Select(a => a.GetProperty("outcome").GetString()!).ToArray();

    /// <summary>A loopback port nothing listens on: connections to it are refused.</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Fact]
    public async Task An_http_step_without_an_answer_in_time_times_out_is_retried_as_a_timeout_and_failure_sees_it()
    {
        await using var endpoint = await PipelinesFaultyEndpoint.StartAsync();
        await SaveAsync("hang", $$"""
            name: hang
            steps:
              - id: hang
                kind: http
                url: "{{endpoint.BaseUrl}}/slow"
                retries: {limit: 1, backoff: 100ms, on: [failure, timeout]}
              - {id: notify, kind: script, needs: [hang], when: "failure()", run: "echo noticed"}
            """);
        var runId = await StartAsync("hang");

        var run = await WaitForStatusAsync(runId, "Failed");
        Assert.Equal("Failed", Status(run, "hang"));
        Assert.Equal(["TimedOut", "TimedOut"], Outcomes(run, "hang"));
        Assert.Contains("no answer within 2s", Reason(run, "hang"), StringComparison.Ordinal);
        Assert.Equal("Succeeded", Status(run, "notify"));
        Assert.Equal("noticed\n", await Admin.GetStringAsync($"/api/runs/{runId}/steps/notify/log"));
    }

    [Fact]
    public async Task A_deploy_whose_health_check_gets_no_answer_in_time_is_rolled_back_and_retried()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        await using var health = await PipelinesFaultyEndpoint.StartAsync();
        health.HealthAnswers.Enqueue(FaultyAnswer.Hang); // both checks of the first attempt; then healthy
        health.HealthAnswers.Enqueue(FaultyAnswer.Hang);
        await SaveAsync("slow-health", $$"""
            name: slow-health
            steps:
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{health.BaseUrl}}/health"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
                retries: {limit: 1, backoff: 100ms, on: [failure, timeout]}
            """);
        var runId = await StartAsync("slow-health");

        var run = await WaitForStatusAsync(runId, "Succeeded");
        var attempts = Step(run, "deploy").GetProperty("attempts");
        Assert.Equal(["Failed", "Succeeded"], Outcomes(run, "deploy"));
        var error = attempts[0].GetProperty("error").GetString()!;
        Assert.Contains("no answer within 2s", error, StringComparison.Ordinal);
        Assert.Contains("rolled back to 1", error, StringComparison.Ordinal);
        Assert.Equal(
            ["GET /deploy", "POST /deploy deployInstances 2", "POST /deploy deployInstances 1", "GET /deploy", "POST /deploy deployInstances 2"],
            target.Calls.ToArray());
        Assert.Equal("2", target.Version);
    }

    [Fact]
    public async Task A_deploy_whose_health_url_or_deployment_api_is_unreachable_is_rolled_back()
    {
        // The health URL resets its first two connections (the whole first check): unhealthy, rolled back, then healthy.
        await using var target = await FakeDeploymentApi.StartAsync();
        await using var health = await PipelinesFaultyEndpoint.StartAsync();
        health.HealthAnswers.Enqueue(FaultyAnswer.Reset);
        health.HealthAnswers.Enqueue(FaultyAnswer.Reset);
        await SaveAsync("reset-health", $$"""
            name: reset-health
            steps:
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{health.BaseUrl}}/health"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var run = await WaitForStatusAsync(await StartAsync("reset-health"), "Failed");
        Assert.Contains("health check of", Reason(run, "deploy"), StringComparison.Ordinal);
        Assert.EndsWith("; rolled back to 1", Reason(run, "deploy"), StringComparison.Ordinal);
        Assert.Equal(["GET /deploy", "POST /deploy deployInstances 2", "POST /deploy deployInstances 1"], target.Calls.ToArray());
        Assert.Equal("1", target.Version);
        Assert.Equal(["Failed"], Outcomes(run, "deploy"));

        // The deployment API resets the connection of the change itself (every try): the change is undone.
        await using var api = await PipelinesFaultyEndpoint.StartAsync();
        api.ResetVersion = "2";
        await SaveAsync("reset-post", $$"""
            name: reset-post
            steps:
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "{{api.BaseUrl}}/deploy"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        run = await WaitForStatusAsync(await StartAsync("reset-post"), "Failed");
        Assert.StartsWith("DeployInstances failed: ", Reason(run, "deploy"), StringComparison.Ordinal);
        Assert.EndsWith("; rolled back to 1", Reason(run, "deploy"), StringComparison.Ordinal);
        Assert.Equal("POST /deploy deployInstances 1", api.Calls.Last());
    }

    [Fact]
    public async Task A_deploy_whose_health_url_refuses_connections_is_rolled_back_and_says_the_rollback_failed_too()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        await SaveAsync("refused-health", $$"""
            name: refused-health
            steps:
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "http://127.0.0.1:{{ClosedPort()}}/health"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var runId = await StartAsync("refused-health");

        var run = await WaitForStatusAsync(runId, "Failed");
        var reason = Reason(run, "deploy");
        Assert.Contains("refused", reason, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("; the rollback to 1 failed too: health check of", reason, StringComparison.Ordinal);
        Assert.Equal(["GET /deploy", "POST /deploy deployInstances 2", "POST /deploy deployInstances 1"], target.Calls.ToArray());
        Assert.Equal("1", target.Version);
    }

    [Fact]
    public async Task A_step_whose_executor_throws_fails_at_once_with_the_error()
    {
        // A deployment API answering HTML (not JSON), and a URL a template renders wrong: errors of the step, not of the runner.
        await using var endpoint = await PipelinesFaultyEndpoint.StartAsync();
        await SaveAsync("throws", $$$"""
            name: throws
            parameters:
              url: {type: string, default: "not a url"}
            steps:
              - id: html
                kind: deploy
                version: "2"
                target: {deployUrl: "{{{endpoint.BaseUrl}}}/html"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
              - id: badurl
                kind: deploy
                version: "2"
                target: {deployUrl: "${{ parameters.url }}"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var runId = await StartAsync("throws");

        // Well within the 60 s lease: the attempts are not left to lapse and run again as Lost.
        var run = await WaitForStatusAsync(runId, "Failed", seconds: 20);
        Assert.Equal(["Failed"], Outcomes(run, "html"));
        Assert.StartsWith("the step failed unexpectedly: ", Reason(run, "html"), StringComparison.Ordinal);
        Assert.Contains("invalid start of a value", Reason(run, "html"), StringComparison.Ordinal);
        Assert.Contains("[Failed: the step failed unexpectedly: ", await Admin.GetStringAsync($"/api/runs/{runId}/steps/html/log"), StringComparison.Ordinal);
        Assert.Equal(["Failed"], Outcomes(run, "badurl"));
        Assert.StartsWith("the step failed unexpectedly: Invalid URI", Reason(run, "badurl"), StringComparison.Ordinal);
    }
}

public sealed class EmbeddedPipelinesStepFailureTests : PipelinesStepFailureContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesStepFailureTests : PipelinesStepFailureContract
{
    protected override DistributedProfile Distributed { get; } = new("pipefail");
}

/// <summary>How <see cref="PipelinesFaultyEndpoint"/> answers one health request.</summary>
public enum FaultyAnswer
{
    Ok,

    /// <summary>Never answers (until the client gives up).</summary>
    Hang,

    /// <summary>Resets the connection: a network error for the client.</summary>
    Reset,
}

/// <summary>
/// Endpoints on loopback that misbehave: GET /slow never answers; GET /html answers a web page; GET /bigstate answers
/// what runs as JSON of over 2 MiB; GET /health answers
/// as <see cref="HealthAnswers"/> says, then 200; a minimal deployment API at /deploy (version 1 running) that resets
/// the connection of every POST for <see cref="ResetVersion"/> and records its calls as <see cref="FakeDeploymentApi"/> does.
/// </summary>
public sealed class PipelinesFaultyEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;

    private PipelinesFaultyEndpoint(WebApplication app) => _app = app;

    public ConcurrentQueue<FaultyAnswer> HealthAnswers { get; } = new();

    public ConcurrentQueue<string> Calls { get; } = new();

    public string? ResetVersion { get; set; }

    public string BaseUrl { get; private set; } = string.Empty;

    public static async Task<PipelinesFaultyEndpoint> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var endpoint = new PipelinesFaultyEndpoint(app);
        app.MapGet("/slow", HangAsync);
        app.MapGet("/html", () => Results.Content("<!DOCTYPE html><html><body>hello</body></html>", "text/html"));
        app.MapGet("/bigstate", () =>
        {
            endpoint.Calls.Enqueue("GET /bigstate");
            return Results.Text("{\"version\":\"1\",\"instances\":1,\"notes\":\"" + new string('x', 2 * 1024 * 1024) + "\"}", "application/json");
        });
        app.MapGet("/euros", () => Results.Text(new string('€', 3000), "text/plain; charset=utf-8")); // 9,000 bytes
        app.MapGet("/health", async (HttpContext context) =>
        {
            switch (endpoint.HealthAnswers.TryDequeue(out var answer) ? answer : FaultyAnswer.Ok)
            {
                case FaultyAnswer.Hang:
                    await HangAsync(context);
                    return Results.Empty;
                case FaultyAnswer.Reset:
                    context.Abort();
                    return Results.Empty;
                default:
                    return Results.Ok();
            }
        });
        app.MapGet("/deploy", () =>
        {
            endpoint.Calls.Enqueue("GET /deploy");
            return Results.Json(new { version = "1", instances = 1 });
        });
        app.MapPost("/deploy", async (HttpContext context) =>
        {
            var body = (await JsonDocument.ParseAsync(context.Request.Body)).RootElement;
            var version = body.TryGetProperty("version", out var v) ? v.GetString() : null;
            endpoint.Calls.Enqueue(string.Join(' ', new[] { "POST /deploy", body.GetProperty("op").GetString(), version }.Where(p => p is not null)));
            if (version is not null && version == endpoint.ResetVersion)
            {
                context.Abort();
            }

            return Results.Ok();
        });
        await app.StartAsync();
        endpoint.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return endpoint;
    }

    private static async Task HangAsync(HttpContext context)
    {
        try
        {
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            // The client gave up.
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
