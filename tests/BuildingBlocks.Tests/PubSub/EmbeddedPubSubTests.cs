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

    protected override Task InsertRawOutboxRowAsync(PubSubInstance instance, string topic, byte[] payload) =>
        instance.Services.GetRequiredService<SqliteDatabase>().WriteAsync(session =>
        {
            var insert = session.Command("INSERT INTO outbox (topic, payload, created_at) VALUES ($topic, $payload, $now)");
            insert.Parameters.AddWithValue("$topic", topic);
            insert.Parameters.AddWithValue("$payload", payload);
            insert.Parameters.AddWithValue("$now", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            return insert.ExecuteNonQuery();
        }, Ct);

    protected override Task EndOutboxLeasesAsync(PubSubInstance instance) =>
        instance.Services.GetRequiredService<SqliteDatabase>().WriteAsync(session => session.Command("UPDATE outbox SET lease_until = NULL").ExecuteNonQuery(), Ct);

    protected override async Task<(IStateStore Store, SqliteDatabase? Database, Func<ValueTask> Release)> OpenStorageAsync(string instance)
    {
        // Every instance of a test opens the same file, as a restarted process would.
        var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        var store = await SqliteStateStore.OpenAsync(database, new OutboxSignal());
        return (store, database, database.DisposeAsync);
    }

    /// <summary>State and ledger share the SQLite file: events committed with state skip the outbox.</summary>
    [Fact]
    public async Task Events_committed_with_state_go_straight_to_the_ledger_and_reach_their_handler()
    {
        var topic = Topic("inline");
        var subscription = Subscription("inline-reader");
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RecordingHandler>(topic, subscription)
            .AddSingleton(sp => (SqliteStateStore)sp.GetRequiredService<IStateStore>()));
        var store = (SqliteStateStore)instance.Services.GetRequiredService<IStateStore>();
        Assert.NotNull(store.InlinePublisher);

        await store.TransactAsync(new StateTransaction().Upsert("inline||k", "v"u8.ToArray()).Publish(topic, NewEvent("inline-1-" + Prefix)), Ct);

        var call = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal("inline-1-" + Prefix, call.Event.Id);
        Assert.Equal(0, await store.CountAsync(Ct));
    }

    /// <summary>An event committed with state by a process that then dies is delivered by the next start, from the ledger.</summary>
    [Fact]
    public async Task An_event_committed_with_state_before_a_crash_is_delivered_after_the_restart()
    {
        var topic = Topic("inline-crash");
        var subscription = Subscription("inline-crash-reader");
        void Configure(IServiceCollection s) => s
            .AddSubscription<RecordingHandler>(topic, subscription)
            .AddSingleton(sp => (SqliteStateStore)sp.GetRequiredService<IStateStore>());

        // Committed while nothing dispatches (the bus never started): only the ledger row remains.
        var first = await StartInstanceAsync("a", Configure, start: false);
        _ = first.Services.GetRequiredService<PubSubTransport>();
        var store = (SqliteStateStore)first.Services.GetRequiredService<IStateStore>();
        await first.Services.GetRequiredService<EventLedger>().EnsureSchemaAsync();
        await store.TransactAsync(new StateTransaction().Publish(topic, NewEvent("crash-1-" + Prefix)), Ct);
        Assert.Empty(Probe.HandledBy(subscription));

        await StartInstanceAsync("b", Configure);
        var call = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal("crash-1-" + Prefix, call.Event.Id);
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
