using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>Definition, parsing and trigger defects found by review, end to end in the main job (embedded profile).</summary>
public sealed class PipelinesDefinitionTests : PipelinesApiContract
{
    protected override IDictionary<string, string?> ClassSettings => new Dictionary<string, string?>
    {
        ["Pipelines:Publish:AllowedTopics:0"] = "pipeline.custom.releases",
        ["Pipelines:Publish:AllowedTopics:1"] = "pipeline.custom.*",
    };

    private async Task<JsonElement> RefusedAsync(string name, string yaml)
    {
        var response = await Admin.PutAsync($"/api/pipelines/{name}", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, body.ToString());
        return body.GetProperty("errors");
    }

    [Fact]
    public async Task A_publish_step_may_not_post_to_platform_topics_and_posts_to_an_allowed_declared_one()
    {
        var errors = await RefusedAsync("forge", """
            name: forge
            steps:
              - {id: p, kind: publish, topic: pipeline.step.result, data: {runId: x, stepId: tests, outcome: Succeeded}}
              - {id: q, kind: publish, topic: scm.push, data: {repository: acme/web, ref: refs/heads/main}}
              - {id: r, kind: publish, topic: pipeline.custom.undeclared}
            """);
        Assert.Equal(["steps[0].topic", "steps[1].topic", "steps[2].topic"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));

        await SaveAsync("announce", "name: announce\nsteps:\n  - {id: p, kind: publish, topic: pipeline.custom.releases, data: {v: '1'}}\n");
        await WaitForStatusAsync(await StartAsync("announce"), "Succeeded");
    }

    [Fact]
    public async Task An_http_body_carries_parameter_values_as_json_strings()
    {
        await using var api = await FakeDeploymentApi.StartAsync();
        await SaveAsync("hb", $$$"""
            name: hb
            parameters: {v: {type: string}}
            steps:
              - {id: post, kind: http, method: POST, url: "{{{api.BaseUrl}}}/deploy", body: {op: deployInstances, version: "${{ parameters.v }}"}}
            """);
        const string Value = "2\", \"op\": \"removeCanary\", \"x\": \"\\ {}";
        await WaitForStatusAsync(await StartAsync("hb", new { v = Value }), "Succeeded");
        Assert.Equal(["POST /deploy deployInstances " + Value], api.Calls);
        Assert.Equal(Value, api.Version);
    }

    [Fact]
    public async Task Every_problem_found_by_review_comes_back_in_one_400_with_its_path()
    {
        var errors = await RefusedAsync("foo", """
            name: bar
            triggers: [{kind: schedule, cron: "* * * * * *"}]
            concurrency: {group: "per-run-${{ run.id }}"}
            steps:
              - {id: a, kind: script, run: "true", timeout: 0.0001s}
              - {id: b, kind: wait, duration: 3000000d}
              - {id: c, kind: script, run: "true", timeout: 99999999999999999d, needs: [bild]}
            """);
        Assert.Equal(
            ["concurrency.group", "name", "steps[0].timeout", "steps[1].duration", "steps[2].needs[0]", "steps[2].timeout", "triggers[0].cron"],
            errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync("/api/pipelines/foo")).StatusCode);
    }
}
