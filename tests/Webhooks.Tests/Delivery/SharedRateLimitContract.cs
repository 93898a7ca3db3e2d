using System.Text;
using Azure.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Testing;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Webhooks.Service.Endpoints;
using Serverless.Webhooks.Service.Inbound;
using Serverless.Webhooks.Service.Receipts;
using Serverless.Webhooks.Service.Sources;
using Serverless.Webhooks.Service.RateLimiting;

namespace Webhooks.Tests.Delivery;

/// <summary>A rate limit shared by instances on one state store: the limiter itself, and two dispatchers sending to one endpoint.</summary>
public abstract class SharedRateLimitContract : StoreBackedContract
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    [Fact]
    public async Task Two_instances_share_one_windows_slots_and_the_next_window_starts_afresh()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0.AddMilliseconds(300));
        var instances = new[] { new SharedRateLimiter(Store, time), new SharedRateLimiter(Store, time) };

        var decisions = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => instances[i % 2].TryAcquireAsync("out||ep-a", 5, ct)));

        Assert.Equal(5, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.Equal(T0.AddSeconds(1), d.NextSendAt));
        Assert.True((await instances[0].TryAcquireAsync("out||ep-b", 5, ct)).Allowed, "another scope has a budget of its own");

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await instances[1].TryAcquireAsync("out||ep-a", 5, ct)).Allowed);
    }

    [Fact]
    public async Task A_rate_below_one_per_second_allows_one_send_per_longer_window()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0);
        var limiter = new SharedRateLimiter(Store, time);

        Assert.True((await limiter.TryAcquireAsync("in||src", 0.5, ct)).Allowed);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new RateLimitDecision(false, T0.AddSeconds(2)), await limiter.TryAcquireAsync("in||src", 0.5, ct));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await limiter.TryAcquireAsync("in||src", 0.5, ct)).Allowed);
    }

    [Fact]
    public async Task Two_inbound_instances_share_a_sources_rate_limit_and_only_verified_deliveries_count()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0.AddMilliseconds(200));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhooks:Sources:am:Kind"] = "alertmanager",
            ["Webhooks:Sources:am:Secrets:0"] = "amtok",
            ["Webhooks:Sources:am:Options:RateLimitPerSecond"] = "1",
        }).Build();
        WebhookReceiver Instance() => new(new WebhookSourceStore(Store, time, configuration), new ReceiptLedger(Store, time), new SharedRateLimiter(Store, time), time);
        var (a, b) = (Instance(), Instance());
        Task<ReceiveOutcome> SendAsync(WebhookReceiver instance, string receiver, string token = "amtok") => instance.ReceiveAsync(
            "am", new Dictionary<string, string> { ["Authorization"] = "Bearer " + token }, "application/json",
            Encoding.UTF8.GetBytes($$"""{"version":"4","receiver":"{{receiver}}","status":"firing","groupLabels":{},"alerts":[]}"""), ct);

        Assert.IsType<ReceiveOutcome.Unauthorized>(await SendAsync(b, "forged", token: "wrong"));
        Assert.IsType<ReceiveOutcome.Accepted>(await SendAsync(a, "r1"));
        var limited = Assert.IsType<ReceiveOutcome.RateLimited>(await SendAsync(b, "r2"));
        Assert.Equal(TimeSpan.FromMilliseconds(800), limited.RetryAfter);

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.IsType<ReceiveOutcome.Accepted>(await SendAsync(b, "r3"));
    }

    [Fact]
    public async Task Two_dispatchers_on_one_store_send_to_a_rate_limited_endpoint_at_its_rate_not_twice_it()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var receiver = await RecordingReceiver.StartAsync();
        var store = Store;
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"]));
        var registry = new EndpointRegistry(store, TimeProvider.System, policy);
        var created = await registry.CreateAsync(new EndpointRequest(receiver.BaseUrl + "/ok", ["test.*"], RateLimitPerSecond: 2), ct);
        var endpointId = created.Result!.Endpoint.Id;
        var book = new DeliveryBook(store, TimeProvider.System);
        const int Deliveries = 12;
        for (var i = 0; i < Deliveries; i++)
        {
            Assert.True(await book.CreateAsync(endpointId, new CloudEvent("/test", "test.event", "data") { Id = $"evt-{i}" }, "{}"u8.ToArray(), DateTimeOffset.UtcNow, ct));
        }

        using var client = OutboundHttpHandlerFactory.CreateClient(policy, new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(5) });
        var dispatchers = Enumerable.Range(0, 2).Select(_ => new DeliveryDispatcher(
            new DeliveryBook(store, TimeProvider.System),
            new EndpointRegistry(store, TimeProvider.System, policy),
            new DeliveryAttempter(client, new DeliveryRetryPolicy(), TimeProvider.System),
            new DeliverySignal(),
            new EndpointFailureClock(store),
            new DeliveryConcurrency(MaxInFlight: 16, MaxInFlightPerEndpoint: 1), // so both take part
            new CircuitBreakerOptions(),
            new SharedRateLimiter(store, TimeProvider.System),
            TimeProvider.System,
            NullLogger<DeliveryDispatcher>.Instance)).ToList();
        foreach (var dispatcher in dispatchers)
        {
            await dispatcher.StartAsync(ct);
        }

        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (receiver.Requests.Count < Deliveries)
            {
                Assert.True(DateTime.UtcNow < deadline, $"only {receiver.Requests.Count} of {Deliveries} deliveries arrived");
                await Task.Delay(50, ct);
            }
        }
        finally
        {
            foreach (var dispatcher in dispatchers)
            {
                await dispatcher.StopAsync(CancellationToken.None);
                dispatcher.Dispose();
            }
        }

        // At 2 per one-second window, 12 sends need 6 windows: the first and the last attempt are 5 windows apart.
        // With a budget per dispatcher (4/s in all) they went in 3 windows.
        var attempts = (await book.AttemptsAsync(endpointId, 100, null, ct)).Items;
        Assert.Equal(Deliveries, receiver.Requests.Select(r => r.Headers["webhook-id"].ToString()).Distinct().Count());
        var span = attempts.Max(a => a.StartedAt) - attempts.Min(a => a.StartedAt);
        Assert.True(span >= TimeSpan.FromSeconds(4), $"{attempts.Count} attempts of {Deliveries} deliveries at 2/s were made within {span}");
    }
}

public sealed class SqliteSharedRateLimitTests : SharedRateLimitContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresSharedRateLimitTests : SharedRateLimitContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.PostgresAsync("ratelimit");
}
