using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// The outbound event catalogue in the main job: filters that no delivered event can match are refused at their path,
/// a type a topic carries under another name (pipeline.run.failed on pipeline.run.finished) is accepted and delivered,
/// and GET /api/webhooks/event-types lists what can be subscribed to.
/// </summary>
public abstract class WebhooksEventTypesContract : PipelinesApiContract
{
    protected override IDictionary<string, string?> ClassSettings => new Dictionary<string, string?> { ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8" };

    [Fact]
    public async Task A_filter_no_delivered_event_can_match_is_a_400_at_its_path_on_registration_and_patch()
    {
        var refused = await Admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { "scm.push", "pipline.run.failed", "webhook.received" } });

        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var errors = (await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["eventTypes[1]", "eventTypes[2]"], errors.EnumerateObject().Select(e => e.Name).Order(StringComparer.Ordinal));
        var typo = errors.GetProperty("eventTypes[1]")[0].GetString()!;
        Assert.Contains("'pipline.run.failed' matches no event type delivered here", typo, StringComparison.Ordinal);
        Assert.Contains("closest known: pipeline.run.failed", typo, StringComparison.Ordinal);
        Assert.Empty((await Admin.GetFromJsonAsync<JsonElement>("/api/webhooks/endpoints")).GetProperty("items").EnumerateArray());

        var created = await (await Admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { "scm.push" } })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("endpoint").GetProperty("id").GetString()!;
        var patched = await Admin.PatchAsJsonAsync($"/api/webhooks/endpoints/{id}", new { eventTypes = new[] { "pipeline.run.finished" } });
        Assert.Equal(HttpStatusCode.BadRequest, patched.StatusCode);
        var topicName = (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("eventTypes[0]")[0].GetString()!;
        Assert.Contains("is a delivered topic, not an event type", topicName, StringComparison.Ordinal);
        Assert.Contains("pipeline.run.failed", topicName, StringComparison.Ordinal);
        Assert.Equal("scm.push", (await Admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}")).GetProperty("eventTypes")[0].GetString());
    }

    [Fact]
    public async Task An_endpoint_subscribed_to_pipeline_run_failed_receives_it_when_a_run_fails()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        var registered = await Admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = receiver.BaseUrl + "/ok", eventTypes = new[] { "pipeline.run.failed" } });
        Assert.True(registered.StatusCode == HttpStatusCode.Created, await registered.Content.ReadAsStringAsync());
        await SaveAsync("breaks", """
            name: breaks
            steps:
              - {id: build, kind: script, run: "exit 3"}
            """);

        var runId = await StartAsync("breaks");
        await WaitForStatusAsync(runId, "Failed");

        await Recording.WaitUntilAsync(() => !receiver.Requests.IsEmpty, TimeSpan.FromSeconds(30), "the pipeline.run.failed delivery");
        var delivered = JsonDocument.Parse(Assert.Single(receiver.Requests).Body).RootElement;
        Assert.Equal("pipeline.run.failed", delivered.GetProperty("type").GetString());
        Assert.Equal(runId, delivered.GetProperty("data").GetProperty("runId").GetString());
    }

    [Fact]
    public async Task The_catalogue_lists_each_deliverable_type_with_its_topic_for_viewers()
    {
        var viewerKey = (await (await Admin.PostAsJsonAsync("/api/keys", new { name = "catalogue-reader", role = "viewer" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();
        Assert.Equal(HttpStatusCode.Unauthorized, (await Host.CreateClient(apiKey: null).GetAsync("/api/webhooks/event-types")).StatusCode);

        var items = (await Host.CreateClient(viewerKey).GetFromJsonAsync<JsonElement>("/api/webhooks/event-types")).GetProperty("items").EnumerateArray()
            .Select(e => (Type: e.GetProperty("type").GetString()!, Topic: e.GetProperty("topic").GetString()!, Description: e.GetProperty("description").GetString()))
            .ToList();

        foreach (var outcome in new[] { "pipeline.run.succeeded", "pipeline.run.failed", "pipeline.run.cancelled" })
        {
            Assert.Contains(items, e => e.Type == outcome && e.Topic == "pipeline.run.finished" && !string.IsNullOrEmpty(e.Description));
        }

        Assert.Contains(items, e => e.Type == "pipeline.step.skipped" && e.Topic == "pipeline.step.finished");
        Assert.Contains(items, e => e.Type == "scm.push" && e.Topic == "scm.push");
        Assert.Contains(items, e => e.Type == "promotion.settlement.adjusted");
        Assert.DoesNotContain(items, e => e.Type is "webhook.received" or "pipeline.run.finished" or "pipeline.step.result" or "promotion.changed");
        Assert.Equal(items.Select(e => e.Type).Order(StringComparer.Ordinal), items.Select(e => e.Type));
    }
}

public sealed class EmbeddedWebhooksEventTypesTests : WebhooksEventTypesContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedWebhooksEventTypesTests : WebhooksEventTypesContract
{
    protected override DistributedProfile Distributed { get; } = new("eventtypes");
}

/// <summary>Which types the catalogue holds for delivered topics declared elsewhere or open to any type (the profile does not matter).</summary>
public sealed class WebhooksEventTypeConfigurationTests
{
    private static async Task<List<(string Type, string Topic)>> CatalogueAsync(HttpClient admin) =>
        (await admin.GetFromJsonAsync<JsonElement>("/api/webhooks/event-types")).GetProperty("items").EnumerateArray()
            .Select(e => (e.GetProperty("type").GetString()!, e.GetProperty("topic").GetString()!))
            .ToList();

    private static Task<HttpResponseMessage> RegisterAsync(HttpClient admin, string eventType) =>
        admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { eventType } });

    [Fact]
    public async Task A_delivered_topic_no_loaded_module_declares_carries_its_name_or_the_configured_types()
    {
        await using var host = new LocalHost(settings: new Dictionary<string, string?>
        {
            ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8",
            ["Webhooks:Outbound:Topics:0"] = "ops.events",
            ["Webhooks:Outbound:Topics:1"] = "audit.logged",
            ["Webhooks:Outbound:EventTypes:ops.events:0"] = "ops.deploy.*",
            ["Webhooks:Outbound:EventTypes:ops.events:1"] = "ops.paged",
        });
        var admin = host.CreateClient(host.AdminKey);

        Assert.Equal([("audit.logged", "audit.logged"), ("ops.deploy.*", "ops.events"), ("ops.paged", "ops.events")], await CatalogueAsync(admin));
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync(admin, "ops.deploy.prod")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync(admin, "audit.logged")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await RegisterAsync(admin, "ops.events")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await RegisterAsync(admin, "scm.push")).StatusCode); // not delivered by this host
    }

    [Fact]
    public async Task A_delivered_topic_publish_steps_post_to_may_carry_any_type()
    {
        await using var host = new LocalHost(settings: new Dictionary<string, string?>
        {
            ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8",
            ["Webhooks:Outbound:Topics:0"] = "pipeline.custom.releases",
            ["Pipelines:Publish:AllowedTopics:0"] = "pipeline.custom.releases",
        });
        var admin = host.CreateClient(host.AdminKey);

        Assert.Equal([("*", "pipeline.custom.releases")], await CatalogueAsync(admin));
        Assert.Equal(HttpStatusCode.Created, (await RegisterAsync(admin, "release.published")).StatusCode);
    }
}
