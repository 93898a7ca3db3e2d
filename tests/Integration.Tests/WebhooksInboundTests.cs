using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.PubSub;

namespace Integration.Tests;

/// <summary>The inbound gateway over HTTP on the main job, on each profile.</summary>
public abstract class WebhooksInboundContract : IAsyncLifetime
{
    private const string Secret = "It's a Secret to Everybody";
    private const string Push = """
        {"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5",
         "repository":{"full_name":"retail/checkout","clone_url":"https://github.com/retail/checkout.git"},
         "pusher":{"name":"octocat","email":"octocat@example.com"},
         "commits":[{"id":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","message":"Fix basket rounding","timestamp":"2026-11-22T06:00:00Z",
                     "author":{"name":"Octo Cat","email":"octocat@example.com"},"added":[],"modified":["src/basket.cs"],"removed":[]}]}
        """;

    private readonly Recording _recording = new();
    private LocalHost _host = null!;

    protected abstract IDictionary<string, string?> Settings { get; }

    public async ValueTask InitializeAsync()
    {
        _host = new LocalHost(settings: Settings, services: s =>
        {
            s.AddSingleton(_recording);
            s.AddSingleton(new HostName("a"));
            s.AddSubscription<RecordingHandler>("scm.push", "tests.scm-push-" + Guid.NewGuid().ToString("N")[..8]);
        });

        var admin = _host.CreateClient(_host.AdminKey);
        var put = await admin.PutAsJsonAsync("/api/webhooks/sources/github-main", new { kind = "github", secrets = new[] { Secret }, options = new { rateLimitPerSecond = 5 } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    public virtual async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static HttpRequestMessage Delivery(string body, string deliveryId, string? signature = null, string mediaType = "application/json") =>
        GitHubDeliveries.Push("github-main", Secret, body, deliveryId, signature, mediaType);

    [Fact]
    public async Task A_signed_push_is_stored_acknowledged_and_published_as_scm_push_once()
    {
        var client = _host.CreateClient(apiKey: null);
        var first = await client.SendAsync(Delivery(Push, "delivery-1"));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var receiptId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receiptId").GetString();

        // The source allows 5/s with a bucket of 5: an immediate resend is within it, and is a duplicate.
        var again = await client.SendAsync(Delivery(Push, "delivery-1"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(receiptId, (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receiptId").GetString());

        await Recording.WaitUntilAsync(() => !_recording.Events.IsEmpty, TimeSpan.FromSeconds(15), "the scm.push event");
        var receipt = await _host.CreateClient(_host.AdminKey).GetFromJsonAsync<JsonElement>($"/api/webhooks/receipts/{receiptId}");
        Assert.Equal("[redacted]", receipt.GetProperty("headers").GetProperty("X-Hub-Signature-256").GetString());
        Assert.Equal(Push, Encoding.UTF8.GetString(receipt.GetProperty("body").GetBytesFromBase64()));

        var replay = await _host.CreateClient(_host.AdminKey).PostAsync($"/api/webhooks/receipts/{receiptId}/replay", null);
        Assert.Equal(HttpStatusCode.Accepted, replay.StatusCode);
        await Recording.WaitUntilAsync(() => _recording.Events.Count >= 2, TimeSpan.FromSeconds(15), "the replayed scm.push event");
        Assert.Equal(2, _recording.Events.Select(e => e.EventId).Distinct().Count());
    }

    [Fact]
    public async Task A_receipt_replayed_after_its_source_was_deleted_is_normalised_as_it_arrived()
    {
        var accepted = await _host.CreateClient(apiKey: null).SendAsync(Delivery(Push, "replay-after-delete"));
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var receiptId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receiptId").GetString();
        await Recording.WaitUntilAsync(() => !_recording.Events.IsEmpty, TimeSpan.FromSeconds(15), "the scm.push event");

        var admin = _host.CreateClient(_host.AdminKey);
        Assert.True((await admin.DeleteAsync("/api/webhooks/sources/github-main")).IsSuccessStatusCode);
        var receipt = await admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/receipts/{receiptId}");
        Assert.Equal("github", receipt.GetProperty("kind").GetString());

        Assert.Equal(HttpStatusCode.Accepted, (await admin.PostAsync($"/api/webhooks/receipts/{receiptId}/replay", null)).StatusCode);
        await Recording.WaitUntilAsync(() => _recording.Events.Count >= 2, TimeSpan.FromSeconds(15), "the replayed push published as scm.push again");
    }

    [Fact]
    public async Task Forged_unknown_oversized_and_unsupported_deliveries_are_refused_with_problem_json()
    {
        var client = _host.CreateClient(apiKey: null);
        var forged = await client.SendAsync(Delivery(Push, "delivery-2", signature: "sha256=" + new string('0', 64)));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        var problem = await forged.Content.ReadAsStringAsync();
        Assert.Equal("application/problem+json", forged.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Secret, problem, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), Encoding.UTF8.GetBytes(Push))), problem, StringComparison.Ordinal);

        var unknown = Delivery(Push, "delivery-3");
        unknown.RequestUri = new Uri("/api/webhooks/in/nobody", UriKind.Relative);
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(unknown)).StatusCode);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await client.SendAsync(Delivery("<push/>", "delivery-4", mediaType: "application/xml"))).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await client.SendAsync(Delivery(new string(' ', (1024 * 1024) + 1), "delivery-5"))).StatusCode);

        var receipts = await _host.CreateClient(_host.AdminKey).GetFromJsonAsync<JsonElement>("/api/webhooks/receipts?source=github-main");
        Assert.Equal(0, receipts.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task A_source_over_its_rate_limit_gets_429_with_retry_after_and_forged_requests_never_use_it_up()
    {
        var client = _host.CreateClient(apiKey: null);

        // Forged requests to the public URL are refused before the limit is counted, so they cannot starve the real ones.
        for (var i = 0; i < 12; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await client.SendAsync(Delivery(Push, $"forged-{i}", signature: "sha256=" + new string('0', 64)))).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Delivery(Push, "real-after-forged"))).StatusCode);
        HttpResponseMessage? limited = null;
        for (var i = 0; i < 20 && limited is null; i++)
        {
            var response = await client.SendAsync(Delivery(Push, $"burst-{i}"));
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                limited = response;
            }
        }

        Assert.NotNull(limited);
        Assert.True(limited.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Sources_never_show_their_secrets_and_invalid_ones_name_every_bad_field()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var source = await admin.GetStringAsync("/api/webhooks/sources/github-main");
        Assert.DoesNotContain(Secret, source, StringComparison.Ordinal);
        Assert.Contains("\"secretCount\":1", source, StringComparison.Ordinal);

        var invalid = await admin.PutAsJsonAsync("/api/webhooks/sources/broken", new { kind = "generic", secrets = Array.Empty<string>() });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("secrets", out _));
        Assert.True(errors.TryGetProperty("options.header", out _));

        var viewerKey = (await (await admin.PostAsJsonAsync("/api/keys", new { name = "v", role = "viewer" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();
        var viewer = _host.CreateClient(viewerKey);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutAsJsonAsync("/api/webhooks/sources/x", new { kind = "github", secrets = new[] { "s" } })).StatusCode);
    }

    [Fact]
    public async Task A_source_name_over_100_characters_is_refused_with_its_field_and_nothing_is_stored()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var name = new string('a', 101);

        var response = await admin.PutAsJsonAsync($"/api/webhooks/sources/{name}", new { kind = "github", secrets = new[] { "s" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("name", out _));
        var stored = await admin.GetFromJsonAsync<JsonElement>("/api/state?prefix=" + Uri.EscapeDataString("webhooks||source||"));
        Assert.DoesNotContain(stored.GetProperty("keys").EnumerateArray(), k => k.GetString()!.Contains(name, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await admin.PutAsJsonAsync($"/api/webhooks/sources/{name[..100]}", new { kind = "github", secrets = new[] { "s" } })).StatusCode);
    }
}

public sealed class EmbeddedWebhooksInboundTests : WebhooksInboundContract
{
    protected override IDictionary<string, string?> Settings => new Dictionary<string, string?>();
}

public sealed class DistributedWebhooksInboundTests : WebhooksInboundContract
{
    private readonly DistributedProfile _profile = new("webhooks");

    protected override IDictionary<string, string?> Settings => _profile.Settings();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _profile.DropSchemaAsync();
    }
}
