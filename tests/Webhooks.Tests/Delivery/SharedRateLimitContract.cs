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
    public async Task Two_instances_share_one_scope_so_a_burst_goes_one_at_a_time_at_the_rate()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0.AddMilliseconds(300));
        var instances = new[] { new SharedRateLimiter(Store, time), new SharedRateLimiter(Store, time) };

        var decisions = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => instances[i % 2].TryAcquireAsync("out||ep-a", 5, cancellationToken: ct)));

        // 5/s is one send per 200 ms: the rest of the burst is told exactly when the next may go.
        Assert.Single(decisions, d => d.Allowed);
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.Equal(T0.AddMilliseconds(500), d.NextSendAt));
        Assert.True((await instances[0].TryAcquireAsync("out||ep-b", 5, cancellationToken: ct)).Allowed, "another scope has a budget of its own");

        time.Now = T0.AddMilliseconds(499);
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(500)), await instances[1].TryAcquireAsync("out||ep-a", 5, cancellationToken: ct));
        time.Now = T0.AddMilliseconds(500);
        Assert.True((await instances[1].TryAcquireAsync("out||ep-a", 5, cancellationToken: ct)).Allowed, "a retry at the time it was told is allowed");
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(700)), await instances[0].TryAcquireAsync("out||ep-a", 5, cancellationToken: ct));

        // One value per scope: the theoretical arrival time in Unix ticks, expiring once it constrains nothing.
        var stored = await Store.GetAsync(SharedRateLimiter.Key("out||ep-a"), ct);
        Assert.NotNull(stored);
        Assert.Equal(SmoothRateLimit.UnixTicks(T0.AddMilliseconds(700)).ToString(System.Globalization.CultureInfo.InvariantCulture), Encoding.UTF8.GetString(stored.Value.Span));
        Assert.NotNull(stored.ExpiresAt);
    }

    [Fact]
    public async Task With_a_burst_instances_share_one_bucket_of_the_rate_that_refills_at_the_rate()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0);
        var instances = new[] { new SharedRateLimiter(Store, time), new SharedRateLimiter(Store, time) };

        // An inbound source at 5/s: five deliveries fired at once all pass, wherever they land; the rest wait for the refill.
        var decisions = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => instances[i % 2].TryAcquireAsync("in||github", 5, burst: true, cancellationToken: ct)));
        Assert.Equal(5, decisions.Count(d => d.Allowed));
        Assert.All(decisions.Where(d => !d.Allowed), d => Assert.Equal(T0.AddMilliseconds(200), d.NextSendAt));

        time.Now = T0.AddMilliseconds(200);
        Assert.True((await instances[1].TryAcquireAsync("in||github", 5, burst: true, cancellationToken: ct)).Allowed);
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(400)), await instances[0].TryAcquireAsync("in||github", 5, burst: true, cancellationToken: ct));
    }

    [Fact]
    public async Task A_rate_below_one_per_second_allows_one_send_per_one_over_rate_seconds()
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new ManualTime(T0);
        var limiter = new SharedRateLimiter(Store, time);

        Assert.True((await limiter.TryAcquireAsync("in||src", 0.5, cancellationToken: ct)).Allowed);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(new RateLimitDecision(false, T0.AddSeconds(2)), await limiter.TryAcquireAsync("in||src", 0.5, cancellationToken: ct));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True((await limiter.TryAcquireAsync("in||src", 0.5, cancellationToken: ct)).Allowed);
    }

    /// <summary>
    /// Six senders on three instances hammer one scope concurrently over the real store; the clock moves a pseudo-random
    /// step at every reading, so sends crowd every place the limit has. Each allowed send is measured at the time it was
    /// decided (an allowed decision's <see cref="RateLimitDecision.NextSendAt"/>).
    /// </summary>
    [Theory]
    [InlineData(5, 40)]
    [InlineData(2.5, 30)]
    [InlineData(10, 15)]
    [InlineData(0.5, 300)]
    public async Task Concurrent_senders_on_several_instances_never_exceed_the_guarantee_in_any_second(double rate, int maxStepMilliseconds)
    {
        var ct = TestContext.Current.CancellationToken;
        var time = new SteppingTime(T0, TimeSpan.FromMilliseconds(maxStepMilliseconds));
        var instances = Enumerable.Range(0, 3).Select(_ => new SharedRateLimiter(Store, time)).ToArray();
        var sent = new System.Collections.Concurrent.ConcurrentBag<long>();
        var refused = 0;

        await Task.WhenAll(Enumerable.Range(0, 6).Select(sender => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                var decision = await instances[sender % instances.Length].TryAcquireAsync("out||busy", rate, cancellationToken: ct);
                if (decision.Allowed)
                {
                    sent.Add(SmoothRateLimit.UnixTicks(decision.NextSendAt));
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }, ct)));

        var perSecond = rate >= 1 ? (int)Math.Ceiling(rate) : 1;
        Outbound.SmoothRateLimitTests.AssertAtMost([.. sent], perSecond, TimeSpan.TicksPerSecond, rate);
        if (rate < 1)
        {
            Outbound.SmoothRateLimitTests.AssertAtMost([.. sent], 1, (long)(TimeSpan.TicksPerSecond / rate), rate);
        }

        // …and the limit is used, not just kept: most of the places the elapsed time had were taken.
        var elapsed = time.GetUtcNow() - T0;
        Assert.True(refused > sent.Count, $"the senders should have crowded the limit ({sent.Count} sent, {refused} refused)");
        Assert.True(sent.Count >= (int)(elapsed.TotalSeconds * rate * 0.5), $"{sent.Count} sends in {elapsed} at {rate}/s");
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
        Assert.Equal(TimeSpan.FromSeconds(1), limited.RetryAfter);

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

        // At 2/s, one send per 500 ms, the first and the last of 12 attempts are at least 5.5 s apart. With a budget per
        // dispatcher (4/s in all) they would go within about 2.75 s.
        var attempts = (await book.AttemptsAsync(endpointId, 100, null, ct)).Items;
        Assert.Equal(Deliveries, receiver.Requests.Select(r => r.Headers["webhook-id"].ToString()).Distinct().Count());
        var span = attempts.Max(a => a.StartedAt) - attempts.Min(a => a.StartedAt);
        Assert.True(span >= TimeSpan.FromSeconds(5), $"{attempts.Count} attempts of {Deliveries} deliveries at 2/s were made within {span}");
    }
}

/// <summary>A clock that moves a pseudo-random step (0 to <paramref name="maxStep"/>) at every reading, safely from many threads.</summary>
internal sealed class SteppingTime(DateTimeOffset start, TimeSpan maxStep) : TimeProvider
{
    private long _ticks = start.UtcTicks;
    private long _readings;

    public override DateTimeOffset GetUtcNow()
    {
        var reading = (ulong)Interlocked.Increment(ref _readings);
        var step = (long)((reading * 0x9E3779B97F4A7C15UL) >> 11) % (maxStep.Ticks + 1);
        return new DateTimeOffset(Interlocked.Add(ref _ticks, step), TimeSpan.Zero);
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
