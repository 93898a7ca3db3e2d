using System.Text.Json;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// The HTTP client of http and deploy steps against real receivers on loopback (found by review): answers are read
/// only as far as a step keeps them, template values in URLs are percent-encoded after the authority, and a POST that
/// may have been processed is never sent twice.
/// </summary>
public abstract class PipelinesHttpClientContract : PipelinesApiContract
{
    // Short, so that a client waiting for an endless answer would fail the test quickly rather than hang it.
    protected override IDictionary<string, string?> ClassSettings => new Dictionary<string, string?> { ["Pipelines:Http:TimeoutSeconds"] = "10" };

    private static string Reason(JsonElement run, string step) => Step(run, step).GetProperty("reason").GetString()!;

    private static string Output(JsonElement run, string step, string name) => Step(run, step).GetProperty("outputs").GetProperty(name).GetString()!;

    [Fact]
    public async Task An_http_step_keeps_the_first_4_KiB_of_a_huge_or_endless_answer_and_reads_no_further()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        await SaveAsync("huge", $$"""
            name: huge
            steps:
              - {id: huge, kind: http, url: "{{receiver.BaseUrl}}/stream/67108864"}
              - {id: endless, kind: http, url: "{{receiver.BaseUrl}}/stream"}
            """);
        var run = await WaitForStatusAsync(await StartAsync("huge"), "Succeeded");

        foreach (var step in new[] { "huge", "endless" })
        {
            Assert.Equal("200", Output(run, step, "status"));
            Assert.Equal(new string('x', 4096), Output(run, step, "body"));
        }

        // Both receivers saw the client leave long before their end (64 MiB, or never).
        await Recording.WaitUntilAsync(() => receiver.Streams.Count == 2, TimeSpan.FromSeconds(20), "both streams to stop");
        Assert.All(receiver.Streams, stream => Assert.True(stream.ClientLeft));
        Assert.InRange(receiver.Streams.Single(s => s.Length is not null).Written, 0, 32L * 1024 * 1024);
    }

    [Fact]
    public async Task Template_values_in_step_urls_are_percent_encoded_after_the_authority()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        await using var target = await FakeDeploymentApi.StartAsync();
        await SaveAsync("encoded", $$$"""
            name: encoded
            parameters:
              base: {type: string, default: "{{{receiver.BaseUrl}}}"}
              deployBase: {type: string, default: "{{{target.BaseUrl}}}"}
              id: {type: string, default: "../admin?x=1"}
              q: {type: string, default: "a b&admin=true#x"}
              dots: {type: string, default: ".."}
            steps:
              - id: get
                kind: http
                url: "${{ parameters.base }}/items/${{ parameters.id }}?q=${{ parameters.q }}"
                expectStatus: 404
              - id: climb
                kind: http
                url: "${{ parameters.base }}/items/${{ parameters.dots }}/admin"
              - id: deploy
                kind: deploy
                version: "2"
                target: {deployUrl: "${{ parameters.deployBase }}/deploy", healthUrl: "${{ parameters.base }}/stream/10?check=${{ parameters.id }}"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var run = await WaitForStatusAsync(await StartAsync("encoded"), "Failed");

        // The value stayed one path segment and one query value; the base URLs were taken as they are.
        Assert.Equal("Succeeded", Status(run, "get"));
        Assert.Contains("GET /items/..%2Fadmin%3Fx%3D1?q=a%20b%26admin%3Dtrue%23x", receiver.Targets);
        Assert.Equal("Succeeded", Status(run, "deploy"));
        Assert.Contains("GET /stream/10?check=..%2Fadmin%3Fx%3D1", receiver.Targets);
        Assert.Equal("2", target.Version);

        // A value that would climb the path is refused before anything is sent.
        Assert.Equal("Failed", Status(run, "climb"));
        Assert.StartsWith("a template could not be rendered: a value substituted into the URL makes the path segment '..'", Reason(run, "climb"), StringComparison.Ordinal);
        Assert.DoesNotContain(receiver.Targets, t => t.StartsWith("GET /admin", StringComparison.Ordinal) || t.StartsWith("GET /items/../", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_http_post_answered_500_is_sent_once_and_a_get_is_retried()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        await SaveAsync("fails", $$"""
            name: fails
            steps:
              - id: post
                kind: http
                method: POST
                url: "{{receiver.BaseUrl}}/fail"
                body: {op: start}
              - {id: get, kind: http, url: "{{receiver.BaseUrl}}/fail"}
            """);
        var run = await WaitForStatusAsync(await StartAsync("fails"), "Failed");

        Assert.Equal("HTTP 500", Reason(run, "post"));
        Assert.Equal("HTTP 500", Reason(run, "get"));
        Assert.Equal(1, receiver.Targets.Count(t => t == "POST /fail"));
        Assert.Equal(4, receiver.Targets.Count(t => t == "GET /fail"));
    }

    [Fact]
    public async Task A_deploy_reads_at_most_1_MiB_of_state_and_only_the_status_of_a_health_check()
    {
        await using var state = await PipelinesFaultyEndpoint.StartAsync();
        await using var target = await FakeDeploymentApi.StartAsync();
        await using var health = await RecordingReceiver.StartAsync();
        await SaveAsync("deploy-caps", $$"""
            name: deploy-caps
            steps:
              - id: bigstate
                kind: deploy
                version: "2"
                target: {deployUrl: "{{state.BaseUrl}}/bigstate"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
              - id: endless-health
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{health.BaseUrl}}/stream"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
            """);
        var run = await WaitForStatusAsync(await StartAsync("deploy-caps"), "Failed");

        // The state answer is over the cap: the step fails before changing anything.
        Assert.Equal(
            "the deployment API could not say what runs now (GET deployUrl answered with more than 1048576 bytes, the most its answer may hold); nothing was changed",
            Reason(run, "bigstate"));
        Assert.Equal(["GET /bigstate"], state.Calls.ToArray());

        // A health URL answering 200 with a body that never ends is healthy by its status; none of the body is read.
        Assert.Equal("Succeeded", Status(run, "endless-health"));
        Assert.Equal("2", target.Version);
        await Recording.WaitUntilAsync(() => !health.Streams.IsEmpty, TimeSpan.FromSeconds(20), "the health stream to stop");
        Assert.All(health.Streams, stream => Assert.True(stream.ClientLeft));
    }
}

public sealed class EmbeddedPipelinesHttpClientTests : PipelinesHttpClientContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesHttpClientTests : PipelinesHttpClientContract
{
    protected override DistributedProfile Distributed { get; } = new("pipehttp");
}
