using Azure.Messaging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Testing;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Webhooks.Service.Endpoints;
using Serverless.Webhooks.Service.RateLimiting;

namespace Webhooks.Tests.Delivery;

/// <summary>Stopping the delivery worker while attempts hang.</summary>
public sealed class DispatcherStopTests
{
    [Fact]
    public async Task Two_stops_at_once_both_end_as_soon_as_the_hanging_attempts_are_cancelled()
    {
        // A test server stops its host twice at the same time. Each stop used to install its own drain signal, and the
        // one whose signal was replaced waited for the host's whole shutdown timeout; with no timeout, for ever.
        var ct = TestContext.Current.CancellationToken;
        await using var stateStore = await TemporaryStateStore.SqliteAsync();
        await using var receiver = await RecordingReceiver.StartAsync();
        var store = stateStore.Store;
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"]));
        var registry = new EndpointRegistry(store, TimeProvider.System, policy);
        var created = await registry.CreateAsync(new EndpointRequest(receiver.BaseUrl + "/hang", ["test.*"]), ct);
        var endpointId = created.Result!.Endpoint.Id;
        var book = new DeliveryBook(store, TimeProvider.System);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(await book.CreateAsync(endpointId, new CloudEvent("/test", "test.event", "data") { Id = $"evt-stop-{i}" }, "{}"u8.ToArray(), DateTimeOffset.UtcNow, ct));
        }

        using var client = OutboundHttpHandlerFactory.CreateClient(policy, new OutboundHttpOptions { Timeout = TimeSpan.FromMinutes(5) });
        using var dispatcher = new DeliveryDispatcher(
            book,
            registry,
            new DeliveryAttempter(client, new DeliveryRetryPolicy(), TimeProvider.System),
            new DeliverySignal(),
            new EndpointFailureClock(store),
            new DeliveryConcurrency(MaxInFlight: 16, MaxInFlightPerEndpoint: 4),
            new CircuitBreakerOptions(),
            new SharedRateLimiter(store, TimeProvider.System),
            TimeProvider.System,
            NullLogger<DeliveryDispatcher>.Instance);
        await dispatcher.StartAsync(ct);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (receiver.Requests.Count(r => r.Path == "/hang") < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, "four attempts did not start");
            await Task.Delay(20, ct);
        }

        // No patience limit: each stop must end because the attempts were cancelled and handed back, not because it gave up.
        var stops = Task.WhenAll(dispatcher.StopAsync(CancellationToken.None), dispatcher.StopAsync(CancellationToken.None));
        await stops.WaitAsync(TimeSpan.FromSeconds(20), ct);

        // Handed back: due again at once, not left to their lease.
        var due = await book.DueKeysAsync(100, ct);
        Assert.Equal(4, due.Count);
    }
}
