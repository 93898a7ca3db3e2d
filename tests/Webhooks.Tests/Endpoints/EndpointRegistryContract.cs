using System.Net;
using System.Text.Json;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Webhooks.Tests.Endpoints;

/// <summary>Patching (JSON merge patch) and the delivery worker's disabling of endpoints, on every state store.</summary>
public abstract class EndpointRegistryContract : StoreBackedContract
{
    private const string Topic = "webhook.endpoint.disabled";
    private static readonly CancellationToken Ct = CancellationToken.None;
    // A public address for every host, so the registration check passes without an allow-list.
    private EndpointRegistry Registry => new(Store, TimeProvider.System, new OutboundDestinationPolicy(new OutboundAllowList([])), (_, _) => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34") }));

    private async Task<string> CreateAsync(string url = "https://hooks.example.com/in?api_key=LEAKME123")
    {
        var created = await Registry.CreateAsync(new EndpointRequest(url, ["scm.*"], "ci", 5, new Dictionary<string, string?> { ["X-Team"] = "retail", ["X-Env"] = "prod" }), Ct);
        Assert.True(created.Succeeded, string.Join("; ", created.Problems));
        return created.Result!.Endpoint.Id;
    }

    private static EndpointPatch Patch(string json) => JsonSerializer.Deserialize<EndpointPatch>(json, JsonSerializerOptions.Web)!;

    private async Task<List<OutboxMessage>> DrainOutboxAsync()
    {
        var outbox = (IOutboxStore)Store;
        var messages = (await outbox.LeaseAsync(100, TimeSpan.FromMinutes(1), Ct)).ToList();
        await outbox.CompleteAsync(messages.Select(m => m.Id).ToList(), Ct);
        return messages;
    }

    [Fact]
    public async Task A_patch_changes_only_the_members_it_has_and_null_removes_one()
    {
        var id = await CreateAsync();

        var unchanged = await Registry.UpdateAsync(id, Patch("{}"), Ct);
        Assert.Equal((5, "ci"), (unchanged!.Result!.RateLimitPerSecond, unchanged.Result.Description));

        var noLimit = await Registry.UpdateAsync(id, Patch("""{"rateLimitPerSecond":null}"""), Ct);
        Assert.True(noLimit!.Succeeded);
        Assert.Null(noLimit.Result!.RateLimitPerSecond);
        Assert.Equal("ci", noLimit.Result.Description);

        var noDescription = await Registry.UpdateAsync(id, Patch("""{"description":null,"headers":{"x-team":null,"X-New":"1"}}"""), Ct);
        Assert.True(noDescription!.Succeeded);
        Assert.Null(noDescription.Result!.Description);
        Assert.Equal(["X-Env", "X-New"], noDescription.Result.Headers.Keys.Order(StringComparer.Ordinal));

        var stored = await Registry.GetAsync(id, Ct);
        Assert.Null(stored!.RateLimitPerSecond);
        Assert.Null(stored.Description);
        Assert.Equal(["scm.*"], stored.EventTypes);
        Assert.Equal(2, stored.Headers.Count);

        Assert.Empty((await Registry.UpdateAsync(id, Patch("""{"headers":null}"""), Ct))!.Result!.Headers);
    }

    [Fact]
    public async Task A_patch_cannot_remove_the_url_or_the_event_types()
    {
        var id = await CreateAsync();

        var refused = await Registry.UpdateAsync(id, Patch("""{"url":null,"eventTypes":null,"description":null}"""), Ct);

        Assert.Equal(["url", "eventTypes"], refused!.Problems.Select(p => p.Path));
        Assert.Equal("ci", (await Registry.GetAsync(id, Ct))!.Description);
    }

    [Fact]
    public async Task With_a_catalogue_new_filters_must_match_a_delivered_type_but_a_stored_filter_keeps_working()
    {
        var catalogue = new EventTypeCatalogue([new("pipeline.run.failed", "pipeline.run.finished", null), new("scm.push", "scm.push", null)]);
        var checking = new EndpointRegistry(Store, TimeProvider.System, new OutboundDestinationPolicy(new OutboundAllowList([])), (_, _) => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34") }), catalogue);

        var refused = await checking.CreateAsync(new EndpointRequest("https://hooks.example.com/", ["pipeline.run.failed", "webhook.received"]), Ct);
        Assert.Equal(["eventTypes[1]"], refused.Problems.Select(p => p.Path));
        Assert.Empty((await checking.ListAsync(10, null, Ct)).Items);
        Assert.True((await checking.CreateAsync(new EndpointRequest("https://hooks.example.com/", ["pipeline.run.failed"]), Ct)).Succeeded);

        // Stored before (scm.* matches nothing this catalogue knows): loaded, delivered to as before, and patchable.
        var stale = await CreateAsync();
        Assert.Contains(await checking.SubscribersAsync(Ct), s => s.Id == stale && s.Filter.Matches("scm.tag"));
        var renamed = await checking.UpdateAsync(stale, Patch("""{"description":"still here"}"""), Ct);
        Assert.True(renamed!.Succeeded, string.Join("; ", renamed.Problems));
        Assert.Equal(["scm.*"], renamed.Result!.EventTypes);

        // Setting the filters checks them all.
        var badPatch = await checking.UpdateAsync(stale, Patch("""{"eventTypes":["scm.push","scm.tag"]}"""), Ct);
        Assert.Equal(["eventTypes[1]"], badPatch!.Problems.Select(p => p.Path));
        Assert.Equal(["scm.push"], (await checking.UpdateAsync(stale, Patch("""{"eventTypes":["scm.push"]}"""), Ct))!.Result!.EventTypes);
    }

    [Fact]
    public async Task Disabling_queues_the_event_in_the_same_transaction_without_the_urls_path_or_query_and_only_once()
    {
        var id = await CreateAsync("https://hooks.example.com:8443/services/T0/B0/SECRETPATH?api_key=LEAKME123");
        await DrainOutboxAsync();

        var disabled = await Registry.DisableAsync(id, "HTTP 410", Topic, e => CloudEventJson.Create("/test", Topic, new { endpointId = e.Id, origin = WebhookUrl.Origin(e.Url) }), Ct);

        Assert.NotNull(disabled);
        Assert.False((await Registry.GetAsync(id, Ct))!.Enabled);
        var queued = Assert.Single(await DrainOutboxAsync());
        Assert.Equal(Topic, queued.Topic);
        var data = CloudEventJson.Parse(queued.CloudEventJson).Data!.ToObjectFromJson<JsonElement>();
        Assert.Equal("https://hooks.example.com:8443", data.GetProperty("origin").GetString());

        // Already disabled (say a concurrent attempt also got 410): nothing changes, nothing is published again.
        Assert.Null(await Registry.DisableAsync(id, "HTTP 410", Topic, e => CloudEventJson.Create("/test", Topic, new { endpointId = e.Id }), Ct));
        Assert.Empty(await DrainOutboxAsync());
    }
}

public sealed class SqliteEndpointRegistryTests : EndpointRegistryContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresEndpointRegistryTests : EndpointRegistryContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.PostgresAsync("endpoints");
}
