using System.Diagnostics;
using System.Text.Json.Nodes;
using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.PubSub;

/// <summary>The behaviour both transports must have; each runs this same suite against its real backing store.</summary>
public abstract class PubSubContract : IAsyncLifetime
{
    private const string TestSourceName = "BuildingBlocks.Tests.PubSub";

    private static readonly ActivitySource TestSource = new(TestSourceName);

    private readonly List<PubSubInstance> _instances = [];
    private readonly HashSet<string> _topics = [];
    private readonly HashSet<string> _subscriptions = [];

    /// <summary>Unique per test, so tests sharing a broker never see each other's events.</summary>
    protected string Prefix { get; } = "t" + Guid.NewGuid().ToString("N")[..10];

    protected string TempDirectory { get; } = Directory.CreateTempSubdirectory("pubsub-tests-").FullName;

    protected EventProbe Probe { get; } = new();

    protected IReadOnlyCollection<string> TopicsUsed => _topics;

    protected IReadOnlyCollection<string> SubscriptionsUsed => _subscriptions;

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract ServerlessProfile Profile { get; }

    /// <summary>The RabbitMQ URI (skips or fails the test when the server is absent), or null for embedded.</summary>
    protected abstract string? Broker { get; }

    /// <summary>False when one backing store serves one process at a time (embedded SQLite).</summary>
    protected abstract bool InstancesRunSideBySide { get; }

    /// <summary>Writes an outbox row as given (bytes no publisher of ours would commit: a corrupted row) into the instance's store.</summary>
    protected abstract Task InsertRawOutboxRowAsync(PubSubInstance instance, string topic, byte[] payload);

    /// <summary>Ends every outbox lease of the instance's store (as if the lease ran out).</summary>
    protected abstract Task EndOutboxLeasesAsync(PubSubInstance instance);

    /// <summary>The state store (and, for embedded, the SQLite database) one instance uses, and how to release them.</summary>
    protected abstract Task<(IStateStore Store, SqliteDatabase? Database, Func<ValueTask> Release)> OpenStorageAsync(string instance);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var instance in Enumerable.Reverse(_instances))
        {
            await instance.DisposeAsync();
        }

        try
        {
            Directory.Delete(TempDirectory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held open by a crashed instance; the OS temp cleaner will get it.
        }
    }

    protected string Topic(string name)
    {
        var topic = $"{Prefix}.{name}";
        _topics.Add(topic);
        return topic;
    }

    protected string Subscription(string name)
    {
        var subscription = $"{Prefix}.{name}";
        _subscriptions.Add(subscription);
        return subscription;
    }

    protected static PubSubOptions FastRetries(int maxRetries = 3) => new()
    {
        MaxRetries = maxRetries,
        InitialBackoff = TimeSpan.FromMilliseconds(20),
        BackoffMultiplier = 2,
        MaxBackoff = TimeSpan.FromMilliseconds(500),
        ConcurrencyPerSubscription = 4,
        PrefetchCount = 8,
    };

    protected async Task<PubSubInstance> StartInstanceAsync(string name, Action<IServiceCollection> configure, PubSubOptions? options = null, bool start = true)
    {
        var broker = Broker;
        var (store, database, release) = await OpenStorageAsync(name);
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddLogging(logging =>
        {
            logging.SetMinimumLevel(LogLevel.Warning);
            if (Environment.GetEnvironmentVariable("SERVERLESS_TEST_LOG") is { Length: > 0 } level)
            {
                // For diagnosing a failing run: SERVERLESS_TEST_LOG=Debug prints this instance's logs.
                logging.SetMinimumLevel(Enum.Parse<LogLevel>(level)).AddSimpleConsole(c => c.TimestampFormat = $"HH:mm:ss.fff [{name}] ");
            }
        });
        builder.Services.AddSingleton(Probe);
        builder.Services.AddSingleton(new InstanceName(name));
        builder.Services.AddSingleton(store);
        if (database is not null)
        {
            builder.Services.AddSingleton(database);
        }

        configure(builder.Services);
        builder.Services.AddPubSub(new ServerlessOptions { Profile = Profile, PubSub = options ?? FastRetries() }, broker);
        var instance = new PubSubInstance(name, builder.Build(), release);
        _instances.Add(instance);
        if (start)
        {
            await instance.StartAsync();
        }

        return instance;
    }

    /// <summary>Dead letters hold a JsonElement, which has no value equality: compare their JSON.</summary>
    protected static void AssertSame(DeadLetter expected, DeadLetter? actual) =>
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(expected), System.Text.Json.JsonSerializer.Serialize(actual));

    protected static CloudEvent NewEvent(string? id = null, object? data = null) =>
        new("/tests/orders", "com.example.order.placed", BinaryData.FromObjectAsJson(data ?? new { orderId = 42 }), "application/json", CloudEventDataFormat.Json)
        {
            Id = id ?? Guid.NewGuid().ToString(),
            Time = DateTimeOffset.UtcNow,
        };

    [Fact]
    public async Task A_published_event_reaches_its_handler_with_every_attribute_intact()
    {
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        var sent = new CloudEvent("/tests/orders", "com.example.order.placed", BinaryData.FromObjectAsJson(new { orderId = 42, total = 9.5, lines = new[] { "a", "b" } }), "application/json", CloudEventDataFormat.Json)
        {
            Id = "order-42-" + Prefix,
            Subject = "orders/42",
            Time = new DateTimeOffset(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero),
            DataSchema = "https://example.com/schemas/order.json",
        };
        sent.ExtensionAttributes["tenant"] = "acme";
        sent.ExtensionAttributes["priority"] = 5;
        sent.ExtensionAttributes["urgent"] = true;

        await instance.Publisher.PublishAsync(topic, sent, Ct);

        var call = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        var received = call.Event;
        Assert.Equal(sent.Id, received.Id);
        Assert.Equal(sent.Source, received.Source);
        Assert.Equal(sent.Type, received.Type);
        Assert.Equal(sent.Subject, received.Subject);
        Assert.Equal(sent.Time, received.Time);
        Assert.Equal(sent.DataSchema, received.DataSchema);
        Assert.Equal("application/json", received.DataContentType);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(sent.Data!.ToString()), JsonNode.Parse(received.Data!.ToString())), received.Data.ToString());
        Assert.Equal("acme", received.ExtensionAttributes["tenant"]);
        Assert.Equal(5, received.ExtensionAttributes["priority"]);
        Assert.Equal(true, received.ExtensionAttributes["urgent"]);
        Assert.Equal(new EventContext(topic, subscription, 1, false), call.Context);
    }

    [Fact]
    public async Task Every_subscription_of_a_topic_gets_every_event_and_other_topics_get_none()
    {
        var orders = Topic("orders");
        var invoices = Topic("invoices");
        var audit = Subscription("audit");
        var billing = Subscription("billing");
        var ledger = Subscription("ledger");
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RecordingHandler>(orders, audit)
            .AddSubscription<RecordingHandler>(orders, billing)
            .AddSubscription<RecordingHandler>(invoices, ledger));

        var ids = Enumerable.Range(0, 20).Select(i => $"order-{i}").ToList();
        foreach (var id in ids)
        {
            await instance.Publisher.PublishAsync(orders, NewEvent(id), Ct);
        }

        await instance.Publisher.PublishAsync(invoices, NewEvent("invoice-1"), Ct);

        Assert.Equal(ids.ToHashSet(), (await Probe.WaitForHandledAsync(audit, ids.Count)).Select(c => c.Event.Id).ToHashSet());
        Assert.Equal(ids.ToHashSet(), (await Probe.WaitForHandledAsync(billing, ids.Count)).Select(c => c.Event.Id).ToHashSet());
        Assert.Equal(["invoice-1"], (await Probe.WaitForHandledAsync(ledger, 1)).Select(c => c.Event.Id));
        Assert.Equal(ids.Count, Probe.HandledBy(audit).Count);
    }

    [Fact]
    public async Task A_failing_handler_is_retried_with_growing_backoff_until_it_succeeds()
    {
        var topic = Topic("orders");
        var subscription = Subscription("flaky");
        Probe.Behaviours[subscription] = (call, _) => call.Context.Attempt <= 2
            ? throw new InvalidOperationException($"attempt {call.Context.Attempt} fails")
            : Task.CompletedTask;
        var options = FastRetries(maxRetries: 3);
        options.InitialBackoff = TimeSpan.FromMilliseconds(60);
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription), options);

        await instance.Publisher.PublishAsync(topic, NewEvent("order-1"), Ct);

        var handled = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal(3, handled.Context.Attempt);
        var calls = Probe.CallsOf(subscription);
        Assert.Equal([1, 2, 3], calls.Select(c => c.Context.Attempt));
        Assert.All(calls, c => Assert.Equal("order-1", c.Event.Id));

        // .NET timers run on a coarse tick count, so a 60 ms wait measured with Stopwatch can come out a few milliseconds
        // short (54.6 ms was seen in CI); the point is that the waits are there and grow as configured.
        var first = calls[1].Since(calls[0]);
        var second = calls[2].Since(calls[1]);
        Assert.True(first >= TimeSpan.FromMilliseconds(45), $"first backoff was {first}");
        Assert.True(second >= TimeSpan.FromMilliseconds(100), $"second backoff was {second} (the first was {first})");
        Assert.Empty((await instance.DeadLetters.ListAsync(subscription, cancellationToken: Ct)).Items);
    }

    [Fact]
    public async Task An_event_that_always_fails_is_dead_lettered_then_replayed_to_that_subscription_only()
    {
        var topic = Topic("orders");
        var failing = Subscription("failing");
        var healthy = Subscription("healthy");
        var broken = true;
        Probe.Behaviours[failing] = (_, _) => Volatile.Read(ref broken) ? throw new TimeoutException("the warehouse did not answer") : Task.CompletedTask;
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RecordingHandler>(topic, failing)
            .AddSubscription<RecordingHandler>(topic, healthy), FastRetries(maxRetries: 2));

        await instance.Publisher.PublishAsync(topic, NewEvent("order-7", new { orderId = 7 }), Ct);

        var page = await Poll.UntilAsync(() => instance.DeadLetters.ListAsync(cancellationToken: Ct), p => p.Items.Count > 0, "a dead letter");
        var deadLetter = Assert.Single(page.Items);
        Assert.Null(page.NextCursor);
        Assert.Equal(failing, deadLetter.Subscription);
        Assert.Equal(topic, deadLetter.Topic);
        Assert.Equal("order-7", deadLetter.EventId);
        Assert.Equal("com.example.order.placed", deadLetter.EventType);
        Assert.Equal(typeof(TimeoutException).FullName, deadLetter.ErrorType);
        Assert.Equal("the warehouse did not answer", deadLetter.ErrorMessage);
        Assert.Equal(3, deadLetter.Attempts);
        Assert.Equal("order-7", deadLetter.Event.GetProperty("id").GetString());
        Assert.Equal(7, deadLetter.Event.GetProperty("data").GetProperty("orderId").GetInt32());
        Assert.Equal([1, 2, 3], Probe.CallsOf(failing).Select(c => c.Context.Attempt));
        AssertSame(deadLetter, await instance.DeadLetters.GetAsync(deadLetter.Id, Ct));
        Assert.Single(await Probe.WaitForHandledAsync(healthy, 1));

        Volatile.Write(ref broken, false);
        Assert.True(await instance.DeadLetters.ReplayAsync(deadLetter.Id, Ct));

        var replayed = Assert.Single(await Probe.WaitForHandledAsync(failing, 1));
        Assert.Equal("order-7", replayed.Event.Id);
        Assert.True(replayed.Context.Redelivered);
        Assert.Null(await instance.DeadLetters.GetAsync(deadLetter.Id, Ct));
        Assert.Empty((await instance.DeadLetters.ListAsync(cancellationToken: Ct)).Items);
        Assert.False(await instance.DeadLetters.ReplayAsync(deadLetter.Id, Ct));

        // The healthy subscription saw the event once: the replay went to the failing one only. A sentinel
        // published after the replay, once handled, shows the healthy queue had nothing else pending.
        await instance.Publisher.PublishAsync(topic, NewEvent("sentinel"), Ct);
        await Poll.UntilAsync(() => Task.FromResult(Probe.HandledBy(healthy)), h => h.Any(c => c.Event.Id == "sentinel"), "the sentinel");
        Assert.Single(Probe.HandledBy(healthy), c => c.Event.Id == "order-7");
    }

    [Fact]
    public async Task Dead_letters_are_listed_by_subscription_a_page_at_a_time_and_can_be_deleted()
    {
        var topic = Topic("orders");
        var first = Subscription("first");
        var second = Subscription("second");
        Probe.Behaviours[first] = (_, _) => throw new InvalidOperationException("no");
        Probe.Behaviours[second] = (_, _) => throw new InvalidOperationException("no");
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RecordingHandler>(topic, first)
            .AddSubscription<RecordingHandler>(topic, second), FastRetries(maxRetries: 0));

        foreach (var id in new[] { "e1", "e2", "e3" })
        {
            await instance.Publisher.PublishAsync(topic, NewEvent(id), Ct);
        }

        await Poll.UntilAsync(() => instance.DeadLetters.ListAsync(limit: 10, cancellationToken: Ct), p => p.Items.Count == 6, "six dead letters");

        var page1 = await instance.DeadLetters.ListAsync(first, limit: 2, cancellationToken: Ct);
        Assert.Equal(2, page1.Items.Count);
        Assert.NotNull(page1.NextCursor);
        var page2 = await instance.DeadLetters.ListAsync(first, limit: 2, cursor: page1.NextCursor, cancellationToken: Ct);
        Assert.Single(page2.Items);
        Assert.Null(page2.NextCursor);
        var listed = page1.Items.Concat(page2.Items).ToList();
        Assert.All(listed, d => Assert.Equal(first, d.Subscription));
        Assert.Equal(["e1", "e2", "e3"], listed.Select(d => d.EventId).Order());
        Assert.Equal(3, listed.Select(d => d.Id).Distinct().Count());
        Assert.All(listed, d => Assert.Equal(1, d.Attempts));

        Assert.True(await instance.DeadLetters.DeleteAsync(listed[0].Id, Ct));
        Assert.False(await instance.DeadLetters.DeleteAsync(listed[0].Id, Ct));
        Assert.Equal(2, (await instance.DeadLetters.ListAsync(first, cancellationToken: Ct)).Items.Count);
        Assert.Equal(3, (await instance.DeadLetters.ListAsync(second, cancellationToken: Ct)).Items.Count);
        Assert.Null(await instance.DeadLetters.GetAsync("not-an-id", Ct));
    }

    [Fact]
    public async Task A_malformed_event_goes_straight_to_the_dead_letters_without_reaching_the_handler()
    {
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        var descriptor = instance.Services.GetRequiredService<TopicRegistry>().Subscriptions.Single();

        // Bytes no publisher of ours would produce (a foreign producer, a corrupted message).
        await instance.Services.GetRequiredService<ISubscriptionRedelivery>().RedeliverAsync(descriptor, "{\"specversion\":\"1.0\",\"id\":\"x\""u8.ToArray(), Ct);

        var deadLetter = Assert.Single((await Poll.UntilAsync(() => instance.DeadLetters.ListAsync(subscription, cancellationToken: Ct), p => p.Items.Count > 0, "a dead letter")).Items);
        Assert.Equal(typeof(MalformedCloudEventException).FullName, deadLetter.ErrorType);
        Assert.Equal(0, deadLetter.Attempts);
        Assert.Null(deadLetter.EventId);
        Assert.Equal("{\"specversion\":\"1.0\",\"id\":\"x\"", deadLetter.Event.GetString());
        Assert.Empty(Probe.CallsOf(subscription));
    }

    [Fact]
    public async Task Committed_events_no_relay_can_publish_become_dead_letters_that_replay_to_their_topic()
    {
        var gone = Topic("gone");
        var reader = Subscription("gone-reader");
        var a = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(Topic("kept"), Subscription("kept-reader")));
        var store = a.Services.GetRequiredService<IStateStore>();
        var outbox = (IOutboxStore)store;

        // Committed by a process that declared 'gone' (the store alone checks only the name), and a corrupted row.
        await store.TransactAsync(new StateTransaction().Upsert("k", "v"u8.ToArray()).Publish(gone, NewEvent("gone-1", new { n = 1 })), Ct);
        await InsertRawOutboxRowAsync(a, gone, "{\"specversion\":\"1.0\""u8.ToArray());
        await InsertRawOutboxRowAsync(a, "Not a topic!", """{"specversion":"1.0","id":"bad-name","source":"/t","type":"t"}"""u8.ToArray());
        var time = new Serverless.Testing.ManualTime(DateTimeOffset.UtcNow);
        var relay = new OutboxRelay(outbox, a.Publisher, new OutboxSignal(), Microsoft.Extensions.Logging.Abstractions.NullLogger<OutboxRelay>.Instance, a.Services.GetRequiredService<DeadLetterStore>(), time, TimeSpan.FromHours(1));

        // Within the grace the unknown topic's row waits (another instance may declare it); the corrupted one, and the one
        // for a name no process can declare, are dead letters at once.
        await Assert.ThrowsAsync<UnknownTopicException>(() => relay.RelayBatchAsync(Ct));
        var early = (await a.DeadLetters.ListAsync(DeadLetter.OutboxSubscription, cancellationToken: Ct)).Items;
        Assert.Equal(2, early.Count);
        var badName = Assert.Single(early, d => d.EventId == "bad-name");
        Assert.Equal(typeof(InvalidTopicNameException).FullName, badName.ErrorType);
        var corrupted = Assert.Single(early, d => d.EventId is null);
        Assert.Equal(typeof(MalformedCloudEventException).FullName, corrupted.ErrorType);
        Assert.Equal(gone, corrupted.Topic);
        Assert.Equal("{\"specversion\":\"1.0\"", corrupted.Event.GetString());
        Assert.Equal(1, await outbox.CountAsync(Ct));

        // Past the grace it is one too, with the event as committed.
        await EndOutboxLeasesAsync(a);
        time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromMinutes(1));
        Assert.Equal(1, await relay.RelayBatchAsync(Ct));
        Assert.Equal(0, await outbox.CountAsync(Ct));
        var page = await a.DeadLetters.ListAsync(DeadLetter.OutboxSubscription, cancellationToken: Ct);
        Assert.Equal(3, page.Items.Count);
        var deadLetter = Assert.Single(page.Items, d => d.EventId == "gone-1");
        Assert.Equal(typeof(UnknownTopicException).FullName, deadLetter.ErrorType);
        Assert.Equal(DeadLetter.OutboxSubscription, deadLetter.Subscription);
        Assert.Equal(gone, deadLetter.Topic);
        Assert.Equal("com.example.order.placed", deadLetter.EventType);
        Assert.Equal(1, deadLetter.Event.GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal(3, (await a.DeadLetters.ListAsync(cancellationToken: Ct)).Items.Count);

        // This process cannot replay it (nothing changes); nor the corrupted one, which can only be deleted.
        await Assert.ThrowsAsync<UnknownTopicException>(() => a.DeadLetters.ReplayAsync(deadLetter.Id, Ct));
        await Assert.ThrowsAsync<MalformedCloudEventException>(() => a.DeadLetters.ReplayAsync(corrupted.Id, Ct));
        await Assert.ThrowsAsync<InvalidTopicNameException>(() => a.DeadLetters.ReplayAsync(badName.Id, Ct));
        Assert.True(await a.DeadLetters.DeleteAsync(corrupted.Id, Ct));
        Assert.True(await a.DeadLetters.DeleteAsync(badName.Id, Ct));

        // A relay that died after writing a dead letter and before deleting its row writes the same one again, not a second.
        var deadLetters = a.Services.GetRequiredService<DeadLetterStore>();
        var row = new OutboxMessage(long.MaxValue - 7, gone, "{}"u8.ToArray(), DateTimeOffset.UtcNow.AddDays(-1));
        var first = await deadLetters.AddFromOutboxAsync(row, null, null, new UnknownTopicException(gone), Ct);
        var again = await deadLetters.AddFromOutboxAsync(row, null, null, new UnknownTopicException(gone), Ct);
        Assert.Equal(first.Id, again.Id);
        Assert.Equal(2, (await a.DeadLetters.ListAsync(DeadLetter.OutboxSubscription, cancellationToken: Ct)).Items.Count);
        Assert.True(await a.DeadLetters.DeleteAsync(first.Id, Ct));
        Assert.NotNull(await a.DeadLetters.GetAsync(deadLetter.Id, Ct));
        if (!InstancesRunSideBySide)
        {
            await a.StopAsync();
            await a.DisposeAsync();
        }

        // A process that declares the topic publishes it to every subscription of the topic.
        var b = await StartInstanceAsync("b", s => s.AddSubscription<RecordingHandler>(gone, reader));
        Assert.True(await b.DeadLetters.ReplayAsync(deadLetter.Id, Ct));
        var handled = Assert.Single(await Probe.WaitForHandledAsync(reader, 1));
        Assert.Equal("gone-1", handled.Event.Id);
        Assert.Empty((await b.DeadLetters.ListAsync(DeadLetter.OutboxSubscription, cancellationToken: Ct)).Items);
    }

    [Fact]
    public async Task The_idempotency_guard_lets_a_duplicate_delivery_apply_once()
    {
        var topic = Topic("payments");
        var once = Subscription("charge");
        var transactional = Subscription("balance");
        var instance = await StartInstanceAsync("a", s => s
            .AddSubscription<RunOnceHandler>(topic, once)
            .AddSubscription<TransactionalHandler>(topic, transactional));
        var store = instance.Services.GetRequiredService<IStateStore>();
        var duplicate = NewEvent("payment-" + Prefix);

        await instance.Publisher.PublishAsync(topic, duplicate, Ct);
        await instance.Publisher.PublishAsync(topic, duplicate, Ct);

        var charges = await Probe.WaitForHandledAsync(once, 2);
        var balances = await Probe.WaitForHandledAsync(transactional, 2);
        Assert.All(charges.Concat(balances), c => Assert.Equal(duplicate.Id, c.Event.Id));
        Assert.Single((await store.ListKeysAsync($"{Prefix}||charged||", cancellationToken: Ct)).Keys);
        Assert.Single((await store.ListKeysAsync($"{Prefix}||balance||", cancellationToken: Ct)).Keys);
        var guard = instance.Services.GetRequiredService<IIdempotencyGuard>();
        Assert.True(await guard.HasProcessedAsync(once, duplicate.Id, Ct));
        Assert.True(await guard.HasProcessedAsync(transactional, duplicate.Id, Ct));
        Assert.False(await guard.HasProcessedAsync(once, "never-published", Ct));
    }

    [Fact]
    public async Task The_handler_runs_in_a_span_of_the_publishers_trace()
    {
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name is Serverless.BuildingBlocks.Telemetry.ServerlessTelemetry.Name or TestSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(listener);
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription));

        ActivityTraceId traceId;
        using (var request = TestSource.StartActivity("http request"))
        {
            Assert.NotNull(request);
            traceId = request.TraceId;
            await instance.Publisher.PublishAsync(topic, NewEvent(), Ct);
        }

        var call = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal(traceId, call.TraceId);
        Assert.Equal($"handle {topic}", call.ActivityName);
        Assert.StartsWith($"00-{traceId}-", (string)call.Event.ExtensionAttributes["traceparent"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_topics_and_invalid_names_are_refused_with_typed_errors()
    {
        var topic = Topic("orders");
        var instance = await StartInstanceAsync("a", s => s.AddTopic(topic, "Orders placed"));

        var unknown = await Assert.ThrowsAsync<UnknownTopicException>(() => instance.Publisher.PublishAsync(Topic("nobody-declared-this"), NewEvent(), Ct));
        Assert.Equal($"{Prefix}.nobody-declared-this", unknown.Topic);
        await Assert.ThrowsAsync<InvalidTopicNameException>(() => instance.Publisher.PublishAsync("Orders Placed!", NewEvent(), Ct));
        await Assert.ThrowsAsync<InvalidTopicNameException>(() => instance.Publisher.PublishAsync(new string('a', 129), NewEvent(), Ct));
        Assert.Throws<InvalidTopicNameException>(() => new ServiceCollection().AddSubscription<RecordingHandler>(topic, "Not Valid"));
        Assert.Throws<InvalidTopicNameException>(() => new ServiceCollection().AddTopic("-leading-dash"));

        // A declared topic without subscribers in this process still accepts events.
        await instance.Publisher.PublishAsync(topic, NewEvent(), Ct);
    }

    [Fact]
    public async Task An_event_in_hand_when_its_instance_dies_is_delivered_again_to_the_next_instance()
    {
        var topic = Topic("orders");
        var subscription = Subscription("fulfilment");
        var inHand = new TaskCompletionSource<HandlerCall>(TaskCreationOptions.RunContinuationsAsynchronously);
        Probe.Behaviours[subscription] = async (call, ct) =>
        {
            if (call.Instance == "doomed")
            {
                inHand.TrySetResult(call);
                await Task.Delay(Timeout.Infinite, ct);
            }
        };
        void Configure(IServiceCollection s) => s.AddSubscription<RecordingHandler>(topic, subscription);
        var doomed = await StartInstanceAsync("doomed", Configure);

        await doomed.Publisher.PublishAsync(topic, NewEvent("order-1"), Ct);
        var first = await inHand.Task.WaitAsync(Poll.DefaultTimeout, Ct);
        Assert.False(first.Context.Redelivered);

        // Side by side, the successor is already running when the other dies; otherwise it starts after.
        var successor = InstancesRunSideBySide ? await StartInstanceAsync("successor", Configure) : null;
        await doomed.KillAsync();
        successor ??= await StartInstanceAsync("successor", Configure);

        var handled = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal("successor", handled.Instance);
        Assert.Equal("order-1", handled.Event.Id);
        Assert.True(handled.Context.Redelivered);
        Assert.Equal(1, handled.Context.Attempt);
    }

    [Fact]
    public async Task Two_stops_at_the_same_time_both_wait_for_the_handler_in_hand()
    {
        // A test server stops its host twice at once; a second stop that returned at once let the host dispose
        // the services a handler was still using.
        var topic = Topic("orders");
        var subscription = Subscription("fulfilment");
        var inHand = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var finished = false;
        Probe.Behaviours[subscription] = async (call, ct) =>
        {
            inHand.TrySetResult();
            await Task.Delay(TimeSpan.FromMilliseconds(300), CancellationToken.None);
            Volatile.Write(ref finished, true);
        };
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        await instance.Publisher.PublishAsync(topic, NewEvent("order-1"), Ct);
        await inHand.Task.WaitAsync(Poll.DefaultTimeout, Ct);

        var transport = instance.Services.GetServices<IHostedService>().Single(s => s is IPubSubHealth);
        var first = transport.StopAsync(CancellationToken.None);
        var second = transport.StopAsync(CancellationToken.None);
        await Task.WhenAny(first, second);

        Assert.True(Volatile.Read(ref finished), "a stop returned while the handler was still running");
        await Task.WhenAll(first, second);
    }

    [Fact]
    public async Task Readiness_follows_the_bus()
    {
        var topic = Topic("orders");
        var instance = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, Subscription("audit")), start: false);
        var health = instance.Services.GetRequiredService<IPubSubHealth>();
        Assert.False(await health.IsReadyAsync(Ct));

        await instance.StartAsync();
        await Poll.UntilAsync(() => health.IsReadyAsync(Ct), ready => ready, "readiness");

        await instance.StopAsync();
        Assert.False(await health.IsReadyAsync(Ct));
    }
}

/// <summary>Side effects outside the state store: guarded by <see cref="IIdempotencyGuard.RunOnceAsync"/>.</summary>
public sealed class RunOnceHandler(IIdempotencyGuard guard, IStateStore store, EventProbe probe, InstanceName instance) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        await guard.RunOnceAsync(context.Subscription, cloudEvent.Id, ct =>
            store.SaveAsync($"{context.Topic.Split('.')[0]}||charged||{Guid.NewGuid()}", "1"u8.ToArray(), cancellationToken: ct), cancellationToken);
        await new RecordingHandler(probe, instance).HandleAsync(cloudEvent, context, cancellationToken);
    }
}

/// <summary>Effects in the state store: the marker commits in the same transaction.</summary>
public sealed class TransactionalHandler(IIdempotencyGuard guard, EventProbe probe, InstanceName instance) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        var change = new StateTransaction().Upsert($"{context.Topic.Split('.')[0]}||balance||{Guid.NewGuid()}", "1"u8.ToArray());
        await guard.TryCommitOnceAsync(context.Subscription, cloudEvent.Id, change, cancellationToken: cancellationToken);
        await new RecordingHandler(probe, instance).HandleAsync(cloudEvent, context, cancellationToken);
    }
}
