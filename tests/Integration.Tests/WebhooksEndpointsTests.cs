using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>The outbound endpoint registry over HTTP: secrets shown once, SSRF refusals, field paths, rotation.</summary>
public sealed class WebhooksEndpointsTests : IAsyncLifetime
{
    private readonly LocalHost _guarded = new();
    private readonly LocalHost _allowed = new(settings: new Dictionary<string, string?> { ["Webhooks:Outbound:AllowList:0"] = "127.0.0.0/8" });

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        await _guarded.DisposeAsync();
        await _allowed.DisposeAsync();
    }

    [Theory]
    [InlineData("http://127.0.0.1:9/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data")]
    [InlineData("http://10.1.2.3/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://localhost/hook")]
    public async Task Private_loopback_and_metadata_urls_are_refused_at_registration(string url)
    {
        var response = await _guarded.CreateClient(_guarded.AdminKey).PostAsJsonAsync("/api/webhooks/endpoints", new { url, eventTypes = new[] { "scm.push" } });
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("url", out _));
    }

    [Fact]
    public async Task An_endpoint_shows_its_secret_once_and_every_bad_field_is_named()
    {
        var admin = _allowed.CreateClient(_allowed.AdminKey);
        var created = await admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { "scm.push", "pipeline.*" }, description = "ci", rateLimitPerSecond = 20 });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("secret").GetString()!;
        var id = body.GetProperty("endpoint").GetProperty("id").GetString()!;
        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);

        var shown = await admin.GetStringAsync($"/api/webhooks/endpoints/{id}");
        Assert.DoesNotContain(secret, shown, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, await admin.GetStringAsync("/api/webhooks/endpoints"), StringComparison.Ordinal);

        var bad = await admin.PatchAsJsonAsync($"/api/webhooks/endpoints/{id}", new { eventTypes = new[] { "scm.push", "bad event!" }, headers = new Dictionary<string, string> { ["Host"] = "evil" } });
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var errors = (await bad.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("eventTypes[1]", out _));
        Assert.True(errors.TryGetProperty("headers.Host", out _));

        var rotated = await (await admin.PostAsync($"/api/webhooks/endpoints/{id}/rotate-secret", null)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(secret, rotated.GetProperty("secret").GetString());
        Assert.True(rotated.GetProperty("endpoint").GetProperty("previousSecretValidUntil").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(23));

        var disabled = await (await admin.PostAsJsonAsync($"/api/webhooks/endpoints/{id}/disable", new { reason = "maintenance" })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(disabled.GetProperty("enabled").GetBoolean());
        Assert.Equal("maintenance", disabled.GetProperty("disabledReason").GetString());
        Assert.True((await (await admin.PostAsync($"/api/webhooks/endpoints/{id}/enable", null)).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("enabled").GetBoolean());

        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/webhooks/endpoints/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/api/webhooks/endpoints/{id}")).StatusCode);
    }

    [Fact]
    public async Task Credentials_in_an_endpoints_url_and_headers_are_never_shown_back()
    {
        var admin = _allowed.CreateClient(_allowed.AdminKey);
        var created = await admin.PostAsJsonAsync("/api/webhooks/endpoints", new
        {
            url = "http://127.0.0.1:9/hook?api_key=LEAKME&team=ops",
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer s3cret-token", ["X-Env"] = "prod" },
        });
        Assert.True(created.StatusCode == HttpStatusCode.Created, await created.Content.ReadAsStringAsync());
        var id = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("endpoint").GetProperty("id").GetString()!;
        var viewerKey = (await (await admin.PostAsJsonAsync("/api/keys", new { name = "watcher", role = "viewer" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString();

        foreach (var shown in new[]
        {
            await created.Content.ReadAsStringAsync(),
            await _allowed.CreateClient(viewerKey).GetStringAsync($"/api/webhooks/endpoints/{id}"),
            await _allowed.CreateClient(viewerKey).GetStringAsync("/api/webhooks/endpoints"),
        })
        {
            Assert.DoesNotContain("LEAKME", shown, StringComparison.Ordinal);
            Assert.DoesNotContain("s3cret-token", shown, StringComparison.Ordinal);
            Assert.Contains("team=ops", shown, StringComparison.Ordinal);
            Assert.Contains("\"X-Env\":\"prod\"", shown, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_patch_is_a_merge_patch_so_null_removes_the_rate_limit_and_the_description()
    {
        var admin = _allowed.CreateClient(_allowed.AdminKey);
        var created = await (await admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook", eventTypes = new[] { "scm.push" }, description = "ci", rateLimitPerSecond = 5 })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("endpoint").GetProperty("id").GetString()!;

        // Absent members are unchanged.
        var renamed = await (await admin.PatchAsync($"/api/webhooks/endpoints/{id}", JsonContent.Create(new { eventTypes = new[] { "scm.*" } }))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(5, renamed.GetProperty("rateLimitPerSecond").GetInt32());
        Assert.Equal("ci", renamed.GetProperty("description").GetString());

        var patched = await admin.PatchAsync($"/api/webhooks/endpoints/{id}", new StringContent("""{"rateLimitPerSecond":null,"description":null}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, patched.StatusCode);
        var shown = await admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/endpoints/{id}");
        Assert.Equal(JsonValueKind.Null, shown.GetProperty("rateLimitPerSecond").ValueKind);
        Assert.Equal(JsonValueKind.Null, shown.GetProperty("description").ValueKind);
        Assert.Equal("scm.*", shown.GetProperty("eventTypes")[0].GetString());

        var refused = await admin.PatchAsync($"/api/webhooks/endpoints/{id}", new StringContent("""{"url":null}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("url", out _));
    }

    [Theory]
    [InlineData("cursor=zzz", "cursor")]
    [InlineData("limit=0", "limit")]
    [InlineData("limit=-5", "limit")]
    [InlineData("limit=100000", "limit")]
    public async Task A_bad_cursor_or_limit_on_any_endpoint_list_is_a_400_naming_it(string query, string field)
    {
        var admin = _allowed.CreateClient(_allowed.AdminKey);
        var created = await (await admin.PostAsJsonAsync("/api/webhooks/endpoints", new { url = "http://127.0.0.1:9/hook" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("endpoint").GetProperty("id").GetString()!;

        foreach (var list in new[] { "/api/webhooks/endpoints?", $"/api/webhooks/endpoints/{id}/attempts?", $"/api/webhooks/endpoints/{id}/deliveries?status=failed&", "/api/webhooks/receipts?" })
        {
            var response = await admin.GetAsync(list + query);
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{list}{query}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _), list + query);
        }

        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/webhooks/endpoints/{id}/attempts?limit=1000")).StatusCode);
    }
}
