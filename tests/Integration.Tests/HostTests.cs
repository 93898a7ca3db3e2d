using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.Security;
using Serverless.BuildingBlocks.Sqlite;

namespace Integration.Tests;

/// <summary>The main job's platform surface on the embedded profile.</summary>
public sealed class HostTests : IAsyncLifetime
{
    private readonly LocalHost _host = new();

    public ValueTask InitializeAsync()
    {
        _ = _host.Server;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        return problem;
    }

    [Fact]
    public async Task Liveness_readiness_openapi_swagger_and_landing_page_are_open()
    {
        var client = _host.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        var ready = await client.GetFromJsonAsync<JsonElement>("/readyz");
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        var checks = ready.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()).ToList();
        Assert.Contains("state", checks);
        Assert.Contains("pubsub", checks);
        Assert.Contains("timers", checks);

        var openApi = await client.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        Assert.True(openApi.GetProperty("paths").TryGetProperty("/api/keys", out _));
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/swagger/index.html")).StatusCode);

        var page = await client.GetStringAsync("/");
        Assert.Contains("Platform", page, StringComparison.Ordinal);
        Assert.Contains("/api/keys", page, StringComparison.Ordinal);
        Assert.Contains("Healthy", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_landing_page_lists_each_route_once_under_the_module_that_owns_it()
    {
        var page = await _host.CreateClient(apiKey: null).GetStringAsync("/");
        string Section(string module)
        {
            var start = page.IndexOf($"<h3>{module}</h3>", StringComparison.Ordinal);
            Assert.True(start >= 0, $"no section for {module}");
            var end = page.IndexOf("<h3>", start + 4, StringComparison.Ordinal);
            return end < 0 ? page[start..] : page[start..end];
        }

        int Count(string text, string what) => (text.Length - text.Replace(what, string.Empty, StringComparison.Ordinal).Length) / what.Length;

        // The platform's prefix /api/ matches every route; before, it listed the modules' routes again, and the runs API
        // (/api/runs, outside /api/pipelines) appeared under Platform only.
        var platform = Section("Platform");
        Assert.Contains("<code>/api/keys/</code>", platform, StringComparison.Ordinal);
        Assert.DoesNotContain("/api/runs", platform, StringComparison.Ordinal);
        Assert.DoesNotContain("/api/webhooks", platform, StringComparison.Ordinal);
        Assert.DoesNotContain("/api/promotions", platform, StringComparison.Ordinal);
        Assert.DoesNotContain("/api/pipelines", platform, StringComparison.Ordinal);

        var pipelines = Section("Pipelines");
        Assert.Contains("<code>/api/runs/{id}/cancel</code>", pipelines, StringComparison.Ordinal);
        Assert.Contains("<code>/api/pipelines/{name}</code>", pipelines, StringComparison.Ordinal);
        Assert.Contains("<code>/api/webhooks/in/{source}</code>", Section("Webhooks"), StringComparison.Ordinal);
        Assert.Equal(1, Count(page, "<code>/api/runs/{id}/cancel</code>"));
        Assert.Equal(1, Count(page, "<code>/api/webhooks/in/{source}</code>"));
    }

    [Fact]
    public void The_first_admin_key_is_saved_with_mode_0600()
    {
        var path = Path.Combine(_host.DataDirectory, AdminKeyBootstrap.FileName);
        Assert.StartsWith(ApiKeyStore.Prefix, _host.AdminKey, StringComparison.Ordinal);
        Assert.Equal((byte)'s', File.ReadAllBytes(path)[0]); // no byte-order mark: `$(cat .data/admin.key)` must work
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task Management_endpoints_need_a_key_and_a_sufficient_role()
    {
        var anonymous = _host.CreateClient(apiKey: null);
        await ProblemAsync(await anonymous.GetAsync("/api/keys"), HttpStatusCode.Unauthorized);
        await ProblemAsync(await _host.CreateClient("sls_0000000000000000_wrong").GetAsync("/api/keys"), HttpStatusCode.Unauthorized);

        var admin = _host.CreateClient(_host.AdminKey);
        var created = await admin.PostAsJsonAsync("/api/keys", new { name = "dashboards", role = "viewer" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var viewerKey = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var viewer = _host.CreateClient(viewerKey);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/topics")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/timers")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/deadletters")).StatusCode);
        await ProblemAsync(await viewer.PostAsync("/api/events/any.topic", new StringContent("{}", Encoding.UTF8, "application/cloudevents+json")), HttpStatusCode.Forbidden);
        await ProblemAsync(await viewer.GetAsync("/api/keys"), HttpStatusCode.Forbidden);

        var listed = await admin.GetStringAsync("/api/keys");
        Assert.Contains("dashboards", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(viewerKey, listed, StringComparison.Ordinal);
        Assert.DoesNotContain("secretHash", listed, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_revoked_key_stops_working_and_the_last_admin_key_cannot_be_revoked()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var created = await (await admin.PostAsJsonAsync("/api/keys", new { name = "ops", role = "operator" })).Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetString();
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/keys/{id}")).StatusCode);
        await ProblemAsync(await _host.CreateClient(created.GetProperty("key").GetString()).GetAsync("/api/topics"), HttpStatusCode.Unauthorized);

        var keys = await admin.GetFromJsonAsync<JsonElement>("/api/keys");
        var adminId = keys.EnumerateArray().Single(k => k.GetProperty("role").GetString() == "admin").GetProperty("id").GetString();
        await ProblemAsync(await admin.DeleteAsync($"/api/keys/{adminId}"), HttpStatusCode.Conflict);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/keys/ffffffffffffffff")).StatusCode);
    }

    [Fact]
    public async Task Invalid_key_requests_name_every_bad_field()
    {
        var problem = await ProblemAsync(await _host.CreateClient(_host.AdminKey).PostAsJsonAsync("/api/keys", new { name = "", role = "root" }), HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.True(errors.TryGetProperty("name", out _));
        Assert.True(errors.TryGetProperty("role", out _));
    }

    [Fact]
    public async Task Unknown_routes_and_oversized_bodies_get_problem_json()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        await ProblemAsync(await admin.GetAsync("/api/nothing-here"), HttpStatusCode.NotFound);
        var big = new ByteArrayContent(new byte[(1024 * 1024) + 1]);
        big.Headers.ContentType = new("application/octet-stream");
        await ProblemAsync(await admin.PutAsync("/api/state/big", big), HttpStatusCode.RequestEntityTooLarge);
    }

    [Theory]
    [InlineData("/api/pipelines/any/runs?cursor=garbage")]
    [InlineData("/api/pipelines?cursor=garbage")]
    [InlineData("/api/webhooks/endpoints?cursor=garbage")]
    [InlineData("/api/promotions?cursor=garbage")]
    [InlineData("/api/state?prefix=a&cursor=garbage")]
    public async Task A_cursor_no_list_issued_is_a_400_keyed_cursor_on_every_list(string path)
    {
        var problem = await ProblemAsync(await _host.CreateClient(_host.AdminKey).GetAsync(path), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("cursor", out var cursor), problem.GetRawText());
        Assert.Equal("The cursor is not one this list issued; use the nextCursor of a previous page.", cursor[0].GetString());
        Assert.DoesNotContain("Parameter", problem.GetRawText(), StringComparison.Ordinal); // was "… (Parameter 'token')"
    }

    [Fact]
    public async Task Values_of_the_wrong_type_are_400s_naming_the_field()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var body = await ProblemAsync(await admin.PutAsync("/api/webhooks/sources/typed", JsonContent.Create(new { kind = "github", secrets = "one" })), HttpStatusCode.BadRequest);
        Assert.Equal("The value has the wrong JSON type for this field.", body.GetProperty("errors").GetProperty("secrets")[0].GetString());
        Assert.DoesNotContain("System.", body.GetRawText(), StringComparison.Ordinal);

        // The promotions API reads its bodies itself; it used to answer "is not valid here: The JSON value could not be
        // converted to Serverless.Promotions.Engine.Definitions.Reward+PercentOffItems."
        var promotion = await ProblemAsync(
            await admin.PutAsync("/api/promotions/typed", new StringContent("""{"definition":{"name":"x","rewards":[{"type":"percentOffItems","percent":"ten"}]}}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);
        Assert.Equal("The value has the wrong JSON type for this field.", promotion.GetProperty("errors").GetProperty("definition.rewards[0].percent")[0].GetString());
        Assert.DoesNotContain("Serverless.", promotion.GetRawText(), StringComparison.Ordinal);
        var nameless = await ProblemAsync(
            await admin.PutAsync("/api/promotions/typed", new StringContent("""{"definition":{"rewards":[{"type":"percentOffItems","percent":10}]}}""", Encoding.UTF8, "application/json")),
            HttpStatusCode.BadRequest);
        Assert.DoesNotContain("Serverless.", nameless.GetRawText(), StringComparison.Ordinal);
        Assert.Equal("Missing required properties: 'name'", nameless.GetProperty("errors").GetProperty("definition")[0].GetString());

        var query = await ProblemAsync(await admin.GetAsync("/api/webhooks/receipts?limit=abc"), HttpStatusCode.BadRequest);
        Assert.Equal("'abc' is not a whole number.", query.GetProperty("errors").GetProperty("limit")[0].GetString());

        var since = await ProblemAsync(await admin.PostAsync("/api/webhooks/endpoints/x/recover?since=yesterday", null), HttpStatusCode.BadRequest);
        Assert.Equal("'yesterday' is not a date and time (ISO 8601).", since.GetProperty("errors").GetProperty("since")[0].GetString());

        var broken = new StringContent("{\"kind\": ", System.Text.Encoding.UTF8, "application/json");
        var syntax = await ProblemAsync(await admin.PutAsync("/api/webhooks/sources/typed", broken), HttpStatusCode.BadRequest);
        Assert.True(syntax.GetProperty("errors").EnumerateObject().Any(), syntax.GetRawText());
    }

    [Fact]
    public async Task State_api_honours_etags_and_key_limits()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var put = await admin.PutAsync("/api/state/orders||1", new StringContent("{\"n\":1}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NoContent, put.StatusCode);
        var etag = put.Headers.ETag!.Tag;

        var get = await admin.GetAsync("/api/state/orders||1");
        Assert.Equal("{\"n\":1}", await get.Content.ReadAsStringAsync());
        Assert.Equal(etag, get.Headers.ETag!.Tag);

        var second = new HttpRequestMessage(HttpMethod.Put, "/api/state/orders||1") { Content = new StringContent("2") };
        second.Headers.TryAddWithoutValidation("If-Match", etag);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.SendAsync(second)).StatusCode);
        var stale = new HttpRequestMessage(HttpMethod.Put, "/api/state/orders||1") { Content = new StringContent("3") };
        stale.Headers.TryAddWithoutValidation("If-Match", etag);
        await ProblemAsync(await admin.SendAsync(stale), HttpStatusCode.PreconditionFailed);
        Assert.Equal("2", await admin.GetStringAsync("/api/state/orders||1"));

        var problem = await ProblemAsync(await admin.PutAsync("/api/state/" + new string('k', 513), new StringContent("x")), HttpStatusCode.BadRequest);
        Assert.True(problem.GetProperty("errors").TryGetProperty("key", out _));

        var page = await admin.GetFromJsonAsync<JsonElement>("/api/state?prefix=orders||");
        Assert.Equal(["orders||1"], page.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        Assert.Equal(JsonValueKind.Null, page.GetProperty("nextCursor").ValueKind);

        // Paged like every other list: nextCursor goes back as cursor.
        Assert.Equal(HttpStatusCode.NoContent, (await admin.PutAsync("/api/state/orders||2", new StringContent("{}"))).StatusCode);
        var first = await admin.GetFromJsonAsync<JsonElement>("/api/state?prefix=orders||&limit=1");
        Assert.Equal(["orders||1"], first.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
        var next = await admin.GetFromJsonAsync<JsonElement>($"/api/state?prefix=orders||&limit=1&cursor={Uri.EscapeDataString(first.GetProperty("nextCursor").GetString()!)}");
        Assert.Equal(["orders||2"], next.GetProperty("keys").EnumerateArray().Select(k => k.GetString()));
    }

    [Fact]
    public async Task Publishing_by_http_rejects_unknown_topics_malformed_events_and_wrong_media_types()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        var valid = """{"specversion":"1.0","id":"e1","source":"/tests","type":"test.event","data":{"x":1}}""";
        await ProblemAsync(await admin.PostAsync("/api/events/no.such.topic", new StringContent(valid, Encoding.UTF8, "application/cloudevents+json")), HttpStatusCode.NotFound);
        await ProblemAsync(await admin.PostAsync("/api/events/Bad Topic!", new StringContent(valid, Encoding.UTF8, "application/cloudevents+json")), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Outbox_rows_no_relay_can_publish_are_listed_as_dead_letters_and_refused_replays_say_why()
    {
        await using var host = new LocalHost(settings: new Dictionary<string, string?> { ["Serverless:PubSub:OutboxUnknownTopicGrace"] = "00:00:00" });
        var admin = host.CreateClient(host.AdminKey);
        var database = host.Services.GetRequiredService<SqliteDatabase>();
        foreach (var (topic, payload) in new[]
        {
            ("retired.topic", """{"specversion":"1.0","id":"r-1","source":"/old","type":"retired.happened","data":{"n":1}}"""),
            ("retired.topic", """{"specversion":"1.0","id":"""),
            ("Not a topic!", """{"specversion":"1.0","id":"bad-name","source":"/old","type":"t"}"""),
        })
        {
            // Rows a process of an older version committed for a topic this version no longer declares, and a corrupted one.
            await database.WriteAsync(session =>
            {
                var insert = session.Command("INSERT INTO outbox (topic, payload, created_at) VALUES ($topic, $payload, $now)");
                insert.Parameters.AddWithValue("$topic", topic);
                insert.Parameters.AddWithValue("$payload", Encoding.UTF8.GetBytes(payload));
                insert.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
                return insert.ExecuteNonQuery();
            });
        }

        JsonElement items = default;
        await Recording.WaitUntilAsync(
            () =>
            {
                items = admin.GetFromJsonAsync<JsonElement>("/api/deadletters?subscription=$outbox").GetAwaiter().GetResult().GetProperty("items");
                return items.GetArrayLength() == 3;
            },
            TimeSpan.FromSeconds(30),
            "three outbox dead letters");
        var retired = items.EnumerateArray().Single(d => d.GetProperty("eventId").GetString() == "r-1");
        Assert.Equal("$outbox", retired.GetProperty("subscription").GetString());
        Assert.Equal("retired.topic", retired.GetProperty("topic").GetString());
        Assert.Equal(1, retired.GetProperty("event").GetProperty("data").GetProperty("n").GetInt32());
        var corrupted = items.EnumerateArray().Single(d => d.GetProperty("eventId").ValueKind == JsonValueKind.Null);

        var refused = await ProblemAsync(await admin.PostAsync($"/api/deadletters/{retired.GetProperty("id").GetString()}/replay", null), HttpStatusCode.Conflict);
        Assert.Contains("retired.topic", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(await admin.PostAsync($"/api/deadletters/{corrupted.GetProperty("id").GetString()}/replay", null), HttpStatusCode.UnprocessableEntity);
        var badName = items.EnumerateArray().Single(d => d.GetProperty("eventId").GetString() == "bad-name");
        await ProblemAsync(await admin.PostAsync($"/api/deadletters/{badName.GetProperty("id").GetString()}/replay", null), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/deadletters/{corrupted.GetProperty("id").GetString()}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync($"/api/deadletters/{retired.GetProperty("id").GetString()}")).StatusCode);
        Assert.Equal(0, (await admin.GetFromJsonAsync<JsonElement>("/readyz")).GetProperty("checks").EnumerateArray()
            .Single(c => c.GetProperty("name").GetString() == "state").GetProperty("data").GetProperty("outboxWaiting").GetInt64());
    }
}
