using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>
/// The main job on the distributed profile while its PostgreSQL goes away and comes back (a real server behind a
/// relay that resets every connection): requests that cannot be stored get 503 with Retry-After, never a 2xx, and
/// once the database is back the same delivery is accepted and every accepted one is published.
/// </summary>
public sealed class StoreOutageTests : IAsyncLifetime
{
    private const string Secret = "outage-secret";
    private const string Body = """{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"retail/checkout"},"pusher":{"name":"octocat"},"commits":[]}""";

    private readonly DistributedProfile _profile = new("outage");
    private readonly Recording _recording = new();
    private TcpRelay _relay = null!;
    private LocalHost _host = null!;

    public async ValueTask InitializeAsync()
    {
        var postgres = new NpgsqlConnectionStringBuilder(TestServers.Postgres);
        _relay = new TcpRelay(postgres.Host!, postgres.Port);
        postgres.Host = "127.0.0.1";
        postgres.Port = _relay.Port;
        var settings = _profile.Settings();
        settings["ConnectionStrings:Postgres"] = postgres.ConnectionString;
        _host = new LocalHost(settings: settings, services: s =>
        {
            s.AddSingleton(_recording);
            s.AddSingleton(new HostName("a"));
            s.AddSubscription<RecordingHandler>("scm.push", "tests.outage-" + Guid.NewGuid().ToString("N")[..8]);
        });

        var put = await _host.CreateClient(_host.AdminKey).PutAsJsonAsync("/api/webhooks/sources/outage", new { kind = "github", secrets = new[] { Secret } });
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    public async ValueTask DisposeAsync()
    {
        _relay.Restore();
        await _host.DisposeAsync();
        await _relay.DisposeAsync();
        await _profile.DropSchemaAsync();
    }

    private static HttpRequestMessage Delivery(string deliveryId) => GitHubDeliveries.Push("outage", Secret, Body, deliveryId);

    [Fact]
    public async Task While_PostgreSQL_is_unreachable_deliveries_get_503_with_retry_after_and_none_accepted_is_lost()
    {
        var client = _host.CreateClient(apiKey: null);
        Assert.Equal(HttpStatusCode.Accepted, (await client.SendAsync(Delivery("before"))).StatusCode);

        _relay.Cut();
        var refused = await client.SendAsync(Delivery("during"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(ProblemMapping.RetryAfterSeconds), refused.Headers.RetryAfter?.Delta);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(503, problem.GetProperty("status").GetInt32());
        Assert.DoesNotContain(Secret, problem.GetRawText(), StringComparison.Ordinal);

        // Back: the same delivery is taken (nothing of it was stored), after at most a few more 503s while the pool heals.
        _relay.Restore();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        HttpStatusCode status;
        do
        {
            status = (await client.SendAsync(Delivery("during"))).StatusCode;
            Assert.True(status is HttpStatusCode.Accepted or HttpStatusCode.ServiceUnavailable, $"answered {status} while the database came back");
            Assert.True(DateTime.UtcNow < deadline, "the delivery was not accepted within 30 s of the database coming back");
            if (status != HttpStatusCode.Accepted)
            {
                await Task.Delay(100);
            }
        }
        while (status != HttpStatusCode.Accepted);

        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(Delivery("during"))).StatusCode);
        await Recording.WaitUntilAsync(() => _recording.Events.Select(e => e.EventId).Distinct().Count() >= 2, TimeSpan.FromSeconds(30), "both accepted pushes published");
        Assert.Equal(2, _recording.Events.Select(e => e.EventId).Distinct().Count());
    }
}
