using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Testing;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Outbound;

namespace Integration.Tests;

/// <summary>Outbound delivery end to end in the main job: platform event → signed POST to real receivers on loopback.</summary>
public abstract class WebhooksDeliveryContract : IAsyncLifetime
{
    private RecordingReceiver _receiver = null!;
    private LocalHost _host = null!;
    private HttpClient _admin = null!;
    private Dictionary<string, string?> _settings = null!;

    protected virtual IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>();

    public async ValueTask InitializeAsync()
    {
        _receiver = await RecordingReceiver.StartAsync();
        var settings = new Dictionary<string, string?>(ProfileSettings)
        {
            ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8",
            ["Webhooks:Outbound:Topics:0"] = "test.outbound",
            ["Webhooks:Outbound:Topics:1"] = "webhook.endpoint.disabled",
            ["Webhooks:Outbound:RetryDelays:0"] = "00:00:00",
            ["Webhooks:Outbound:RetryDelays:1"] = "00:00:00.200",
            ["Webhooks:Outbound:RetryDelays:2"] = "00:00:00.200",
            ["Webhooks:Outbound:TimeoutSeconds"] = "5",
            ["Webhooks:Outbound:MaxInFlightPerEndpoint"] = "4",
            ["Webhooks:Outbound:CircuitBreaker:CoolDown"] = "00:00:05",
        };
        _settings = settings;
        _host = new LocalHost(settings: settings);
        _admin = _host.CreateClient(_host.AdminKey);
    }

    public virtual async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        await _receiver.DisposeAsync();
    }

    private async Task<(string Id, string Secret)> RegisterAsync(string path, params string[] eventTypes)
    {
        var created = await (await _admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = _receiver.BaseUrl + path, eventTypes })).Content.ReadFromJsonAsync<JsonElement>();
        return (created.GetProperty("endpoint").GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    private async Task PublishAsync(string id, string type = "test.outbound.happened")
    {
        var response = await _admin.PostAsync("/api/events/test.outbound", new StringContent(
            $$$"""{"specversion":"1.0","id":"{{{id}}}","source":"/tests","type":"{{{type}}}","data":{"n":1}}""", Encoding.UTF8, "application/cloudevents+json"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task An_event_whose_id_is_no_valid_message_id_is_delivered_under_a_stable_derived_webhook_id()
    {
        var (id, secret) = await RegisterAsync("/ok", "test.*");
        await PublishAsync("evt.with.dots");

        await Recording.WaitUntilAsync(() => !_receiver.Requests.IsEmpty, TimeSpan.FromSeconds(20), "the delivery");
        var (_, headers, body) = Assert.Single(_receiver.Requests);
        Assert.Equal(WebhookMessageId.For("evt.with.dots"), headers["webhook-id"].ToString());
        Assert.Equal("evt.with.dots", JsonDocument.Parse(body).RootElement.GetProperty("id").GetString());
        var verified = new StandardWebhooksVerifier([secret]).Verify(headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, DateTimeOffset.UtcNow);
        Assert.True(verified.IsVerified, verified.Message);
        await Recording.WaitUntilAsync(
            () => _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}/attempts").GetAwaiter().GetResult().GetProperty("items").GetArrayLength() == 1,
            TimeSpan.FromSeconds(10), "the attempt record");
    }

    [Fact]
    public async Task A_matching_event_is_delivered_signed_and_logged()
    {
        var (id, secret) = await RegisterAsync("/ok", "test.*");
        await RegisterAsync("/ok", "test.outbound"); // the topic's own name as exact type: not this event's type
        await PublishAsync("evt-ok");

        await Recording.WaitUntilAsync(() => !_receiver.Requests.IsEmpty, TimeSpan.FromSeconds(20), "the delivery");
        var (_, headers, body) = Assert.Single(_receiver.Requests);
        Assert.Equal("evt-ok", headers["webhook-id"].ToString());
        Assert.Equal("evt-ok", JsonDocument.Parse(body).RootElement.GetProperty("id").GetString());
        var verified = new StandardWebhooksVerifier([secret]).Verify(headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, DateTimeOffset.UtcNow);
        Assert.True(verified.IsVerified, verified.Message);

        JsonElement attempts = default;
        await Recording.WaitUntilAsync(() =>
        {
            attempts = _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}/attempts").GetAwaiter().GetResult();
            return attempts.GetProperty("items").GetArrayLength() == 1;
        }, TimeSpan.FromSeconds(10), "the attempt record");
        Assert.Equal(200, attempts.GetProperty("items")[0].GetProperty("statusCode").GetInt32());
    }

    [Fact]
    public async Task A_failing_endpoint_is_retried_then_failed_and_can_be_retried_by_hand()
    {
        var (id, _) = await RegisterAsync("/fail", "test.*");
        await PublishAsync("evt-fail");

        JsonElement attempts = default;
        await Recording.WaitUntilAsync(() =>
        {
            attempts = _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}/attempts").GetAwaiter().GetResult();
            return attempts.GetProperty("items").GetArrayLength() >= 3;
        }, TimeSpan.FromSeconds(20), "three attempts");
        var deliveryId = attempts.GetProperty("items")[0].GetProperty("deliveryId").GetString();
        Assert.All(attempts.GetProperty("items").EnumerateArray(), a => Assert.Equal(500, a.GetProperty("statusCode").GetInt32()));
        Assert.Equal(3, _receiver.Requests.Count(r => r.Path == "/fail"));
        Assert.Single(_receiver.Requests.Select(r => r.Headers["webhook-id"].ToString()).Distinct());

        await Recording.WaitUntilAsync(() => _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/deliveries/{deliveryId}").GetAwaiter().GetResult().GetProperty("status").GetString() == "failed", TimeSpan.FromSeconds(10), "the delivery to fail");
        Assert.Equal(HttpStatusCode.Accepted, (await _admin.PostAsync($"/api/webhooks/deliveries/{deliveryId}/retry", null)).StatusCode);
        await Recording.WaitUntilAsync(() => _receiver.Requests.Count(r => r.Path == "/fail") >= 4, TimeSpan.FromSeconds(20), "the retried attempts");
    }

    [Fact]
    public async Task A_410_disables_the_endpoint()
    {
        var (id, _) = await RegisterAsync("/gone", "test.*");
        await PublishAsync("evt-gone");
        await Recording.WaitUntilAsync(() => !_admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}").GetAwaiter().GetResult().GetProperty("enabled").GetBoolean(), TimeSpan.FromSeconds(20), "the endpoint to be disabled");
        await PublishAsync("evt-after-gone");
        var endpoint = await _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}");
        Assert.Contains("410", endpoint.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_endpoint_failing_for_the_disable_period_is_disabled_also_across_a_restart_and_says_so()
    {
        var (failing, _) = await RegisterAsync("/fail", "test.*");
        await RegisterAsync("/ok", "webhook.endpoint.*");
        await PublishAsync("evt-long-failing");
        await Recording.WaitUntilAsync(() => _receiver.Requests.Count(r => r.Path == "/fail") >= 3, TimeSpan.FromSeconds(20), "three failed attempts");
        var failed = $"/api/webhooks/endpoints/{failing}/deliveries?status=failed";
        await Recording.WaitUntilAsync(() => _admin.GetFromJsonAsync<JsonElement>(failed).GetAwaiter().GetResult().GetProperty("items").GetArrayLength() == 1, TimeSpan.FromSeconds(10), "the delivery to be listed as failed");
        var deliveryId = (await _admin.GetFromJsonAsync<JsonElement>(failed)).GetProperty("items")[0].GetProperty("id").GetString();

        // Restart with a disable period (1 ms) that only the clock started before the restart has exceeded at the
        // next attempt: a clock that restarted with the process would start at that attempt and not disable.
        await _host.DisposeAsync();
        _host = new LocalHost(_host.DataDirectory, new Dictionary<string, string?>(_settings) { ["Webhooks:Outbound:DisableAfter"] = "00:00:00.001" });
        _admin = _host.CreateClient(_host.AdminKey);
        Assert.Equal(HttpStatusCode.Accepted, (await _admin.PostAsync($"/api/webhooks/deliveries/{deliveryId}/retry", null)).StatusCode);

        await Recording.WaitUntilAsync(() => !_admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{failing}").GetAwaiter().GetResult().GetProperty("enabled").GetBoolean(), TimeSpan.FromSeconds(20), "the endpoint to be disabled");
        Assert.Equal(4, _receiver.Requests.Count(r => r.Path == "/fail"));
        var endpoint = await _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{failing}");
        Assert.Contains("no delivery has succeeded", endpoint.GetProperty("disabledReason").GetString(), StringComparison.Ordinal);

        await Recording.WaitUntilAsync(() => _receiver.Requests.Any(r => r.Path == "/ok"), TimeSpan.FromSeconds(20), "the webhook.endpoint.disabled event");
        var disabled = JsonDocument.Parse(_receiver.Requests.First(r => r.Path == "/ok").Body).RootElement;
        Assert.Equal("webhook.endpoint.disabled", disabled.GetProperty("type").GetString());
        Assert.Equal(failing, disabled.GetProperty("data").GetProperty("endpointId").GetString());
    }

    [Fact]
    public async Task The_endpoint_disabled_event_names_the_endpoint_by_id_and_origin_never_by_its_path_or_query()
    {
        await RegisterAsync("/ok", "webhook.endpoint.*");
        var (gone, _) = await RegisterAsync("/gone?api_key=LEAKME123", "test.*");
        await PublishAsync("evt-gone-with-token");

        await Recording.WaitUntilAsync(() => _receiver.Requests.Any(r => r.Path == "/ok"), TimeSpan.FromSeconds(20), "the webhook.endpoint.disabled event");
        var body = _receiver.Requests.First(r => r.Path == "/ok").Body;
        Assert.DoesNotContain("LEAKME123", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.DoesNotContain("/gone", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        var data = JsonDocument.Parse(body).RootElement.GetProperty("data");
        Assert.Equal(gone, data.GetProperty("endpointId").GetString());
        Assert.Equal(new Uri(_receiver.BaseUrl).GetLeftPart(UriPartial.Authority), data.GetProperty("origin").GetString());
        Assert.False(data.TryGetProperty("url", out _));
    }

    [Fact]
    public async Task Deliveries_held_behind_the_circuit_breakers_probe_go_as_soon_as_it_succeeds()
    {
        // Five failures in a row open the endpoint's circuit for the cool-down (5 s, settings above).
        var (id, _) = await RegisterAsync("/fail", "test.*");
        await PublishAsync("evt-open-1");
        await PublishAsync("evt-open-2");
        await Recording.WaitUntilAsync(
            () => _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}/attempts").GetAwaiter().GetResult().GetProperty("items").GetArrayLength() >= 5,
            TimeSpan.FromSeconds(20),
            "five failed attempts");

        // The endpoint recovers (a 300 ms answer); these are held until the cool-down ends, then one of them is the
        // probe and the others are held behind it.
        Assert.Equal(HttpStatusCode.OK, (await _admin.PatchAsJsonAsync($"/api/webhooks/endpoints/{id}", new { url = _receiver.BaseUrl + "/slow" })).StatusCode);
        var held = new[] { "evt-held-1", "evt-held-2", "evt-held-3" };
        foreach (var eventId in held)
        {
            await PublishAsync(eventId);
        }

        await Recording.WaitUntilAsync(() => _receiver.Requests.Any(r => r.Path == "/slow"), TimeSpan.FromSeconds(20), "the probe after the cool-down");
        await Recording.WaitUntilAsync(
            () => held.All(e => _receiver.Requests.Any(r => r.Path == "/slow" && r.Headers["webhook-id"].ToString() == e)),
            TimeSpan.FromSeconds(3),
            "the held deliveries, released by the probe's success (unreleased they wait another 5 s cool-down)");
    }

    [Fact]
    public async Task Events_beyond_an_endpoints_slots_wait_their_turn_and_each_is_delivered_once()
    {
        // 4 attempts in flight per endpoint (settings above), 300 ms each: most of these wait in the worker's queue.
        await RegisterAsync("/slow", "test.*");
        var ids = Enumerable.Range(0, 14).Select(i => $"evt-queued-{i}").ToList();
        foreach (var id in ids)
        {
            await PublishAsync(id);
        }

        await Recording.WaitUntilAsync(() => _receiver.Requests.Count(r => r.Path == "/slow") >= ids.Count, TimeSpan.FromSeconds(30), "every queued delivery");
        var delivered = _receiver.Requests.Where(r => r.Path == "/slow").Select(r => r.Headers["webhook-id"].ToString()).ToList();
        Assert.Equal(ids.Order(), delivered.Order());
    }

    [Fact]
    public async Task A_stopping_worker_hands_its_claimed_deliveries_back_at_once()
    {
        // 4 attempts in flight per endpoint (settings above) hang until the 5 s timeout; the other 4 events wait in the
        // worker's memory, claimed for the 60 s lease. Stopping hands all 8 back, so the next worker attempts every one
        // long before a lease could run out (without it, the waiting ones came back after 60 s).
        await RegisterAsync("/hang", "test.*");
        var ids = Enumerable.Range(0, 8).Select(i => $"evt-handback-{i}").ToList();
        foreach (var id in ids)
        {
            await PublishAsync(id);
        }

        await Recording.WaitUntilAsync(() => _receiver.Requests.Count(r => r.Path == "/hang") >= 4, TimeSpan.FromSeconds(20), "four attempts in flight");
        Assert.Equal(4, _receiver.Requests.Count(r => r.Path == "/hang"));
        await _host.DisposeAsync();

        _host = new LocalHost(_host.DataDirectory, _settings);
        _admin = _host.CreateClient(_host.AdminKey);
        await Recording.WaitUntilAsync(
            () => ids.All(id => _receiver.Requests.Any(r => r.Path == "/hang" && r.Headers["webhook-id"].ToString() == id)),
            TimeSpan.FromSeconds(30),
            "every delivery attempted by the next worker");
    }

    [Fact]
    public async Task A_hanging_endpoint_does_not_delay_the_others()
    {
        await RegisterAsync("/hang", "test.*");
        await RegisterAsync("/ok", "test.*");
        var started = DateTime.UtcNow;
        await PublishAsync("evt-both");

        await Recording.WaitUntilAsync(() => _receiver.Requests.Any(r => r.Path == "/ok"), TimeSpan.FromSeconds(20), "the healthy endpoint's delivery");
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(4), "the healthy endpoint waited for the hanging one (timeout 5 s)");
    }
}

public sealed class EmbeddedWebhooksDeliveryTests : WebhooksDeliveryContract;

public sealed class DistributedWebhooksDeliveryTests : WebhooksDeliveryContract
{
    private readonly DistributedProfile _profile = new("delivery");

    protected override IDictionary<string, string?> ProfileSettings => _profile.Settings();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _profile.DropSchemaAsync();
    }
}
