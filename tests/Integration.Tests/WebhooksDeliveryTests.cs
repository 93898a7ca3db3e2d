using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Testing;
using Serverless.Webhooks.Inbound;

namespace Integration.Tests;

/// <summary>Outbound delivery end to end in the main job: platform event → signed POST to real receivers on loopback.</summary>
public abstract class WebhooksDeliveryContract : IAsyncLifetime
{
    private RecordingReceiver _receiver = null!;
    private LocalHost _host = null!;
    private HttpClient _admin = null!;

    protected virtual IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>();

    public async ValueTask InitializeAsync()
    {
        _receiver = await RecordingReceiver.StartAsync();
        var settings = new Dictionary<string, string?>(ProfileSettings)
        {
            ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8",
            ["Webhooks:Outbound:Topics:0"] = "test.outbound",
            ["Webhooks:Outbound:RetryDelays:0"] = "00:00:00",
            ["Webhooks:Outbound:RetryDelays:1"] = "00:00:00.200",
            ["Webhooks:Outbound:RetryDelays:2"] = "00:00:00.200",
            ["Webhooks:Outbound:TimeoutSeconds"] = "5",
        };
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
    public async Task A_matching_event_is_delivered_signed_and_logged()
    {
        var (id, secret) = await RegisterAsync("/ok", "test.*");
        await RegisterAsync("/ok", "other.*");
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
    private readonly string _schema = "delivery_" + Guid.NewGuid().ToString("N")[..10];

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
