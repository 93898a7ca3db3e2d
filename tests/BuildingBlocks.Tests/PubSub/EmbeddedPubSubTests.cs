using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.PubSub;

/// <summary>The contract on the embedded profile: MassTransit in-memory with the ledger in a temp SQLite file.</summary>
public sealed class EmbeddedPubSubTests : PubSubContract
{
    protected override ServerlessProfile Profile => ServerlessProfile.Embedded;

    protected override string? Broker => null;

    protected override bool InstancesRunSideBySide => false;

    private string DatabasePath => Path.Combine(TempDirectory, "serverless.db");

    protected override async Task<(IStateStore Store, SqliteDatabase? Database, Func<ValueTask> Release)> OpenStorageAsync(string instance)
    {
        // Every instance of a test opens the same file, as a restarted process would.
        var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        var store = await SqliteStateStore.OpenAsync(database, new OutboxSignal());
        return (store, database, database.DisposeAsync);
    }

    /// <summary>The embedded counterpart of competing consumers: one process, several workers on one subscription.</summary>
    [Fact]
    public async Task A_subscriptions_concurrent_workers_share_its_events_and_lose_none()
    {
        var topic = Topic("orders");
        var subscription = Subscription("fulfilment");
        var inFlight = 0;
        var peak = 0;
        Probe.Behaviours[subscription] = async (_, ct) =>
        {
            var now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref peak)) < now && Interlocked.CompareExchange(ref peak, now, seen) != seen)
            {
            }

            await Task.Delay(20, ct);
            Interlocked.Decrement(ref inFlight);
        };
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription));

        var ids = Enumerable.Range(0, 60).Select(i => $"order-{i}").ToList();
        await Task.WhenAll(ids.Select(id => instance.Publisher.PublishAsync(topic, NewEvent(id), Ct)));

        var handled = await Probe.WaitForHandledAsync(subscription, ids.Count);
        Assert.Equal(ids.ToHashSet(), handled.Select(c => c.Event.Id).ToHashSet());
        Assert.True(Volatile.Read(ref peak) > 1, "the subscription's events were handled one at a time");
    }

    [Fact]
    public async Task Settled_events_leave_the_ledger()
    {
        var topic = Topic("orders");
        var audit = Subscription("audit");
        var failing = Subscription("failing");
        Probe.Behaviours[failing] = (_, _) => throw new InvalidOperationException("no");
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RecordingHandler>(topic, audit)
            .AddSubscription<RecordingHandler>(topic, failing), FastRetries(maxRetries: 0));
        var ledger = instance.Services.GetRequiredService<EventLedger>();

        for (var i = 0; i < 50; i++)
        {
            await instance.Publisher.PublishAsync(topic, NewEvent($"order-{i}"), Ct);
        }

        await Probe.WaitForHandledAsync(audit, 50);
        await Poll.UntilAsync(() => instance.DeadLetters.ListAsync(failing, limit: 100, cancellationToken: Ct), p => p.Items.Count == 50, "50 dead letters");
        await Poll.UntilAsync(() => ledger.CountAsync(Ct), count => count == 0, "an empty ledger");
    }

    [Fact]
    public async Task Events_published_before_the_bus_starts_are_delivered_once_each()
    {
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var options = FastRetries();
        options.ConcurrencyPerSubscription = 1;
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription), options, start: false);
        var early = Enumerable.Range(0, 5).Select(i => $"early-{i}").ToList();
        foreach (var id in early)
        {
            await instance.Publisher.PublishAsync(topic, NewEvent(id), Ct);
        }

        await instance.StartAsync();
        await instance.Publisher.PublishAsync(topic, NewEvent("sentinel"), Ct);

        // One consumer, first in first out: once the sentinel is handled, every earlier dispatch has run.
        await Poll.UntilAsync(() => Task.FromResult(Probe.HandledBy(subscription)), h => h.Any(c => c.Event.Id == "sentinel"), "the sentinel");
        var handled = Probe.HandledBy(subscription).Where(c => c.Event.Id != "sentinel").ToList();
        Assert.Equal(early, handled.Select(c => c.Event.Id).Order());
    }
}
