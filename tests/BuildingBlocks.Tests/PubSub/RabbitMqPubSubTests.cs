using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using RabbitMQ.Client;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;

namespace BuildingBlocks.Tests.PubSub;

/// <summary>
/// The contract on the distributed profile: a real RabbitMQ broker, dead letters and idempotency markers
/// in a real PostgreSQL schema shared by every instance of the test (as processes of one deployment share it).
/// </summary>
public sealed class RabbitMqPubSubTests : PubSubContract
{
    private readonly string _schema = "pubsub_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource? _dataSource;

    protected override ServerlessProfile Profile => ServerlessProfile.Distributed;

    protected override string? Broker => TestServers.RabbitMq;

    protected override bool InstancesRunSideBySide => true;

    protected override async Task InsertRawOutboxRowAsync(PubSubInstance instance, string topic, byte[] payload)
    {
        await using var command = _dataSource!.CreateCommand($"INSERT INTO {_schema}.outbox (topic, payload) VALUES ($1, $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = topic });
        command.Parameters.Add(new NpgsqlParameter { Value = payload });
        await command.ExecuteNonQueryAsync(Ct);
    }

    protected override async Task EndOutboxLeasesAsync(PubSubInstance instance)
    {
        await using var command = _dataSource!.CreateCommand($"UPDATE {_schema}.outbox SET lease_until = NULL");
        await command.ExecuteNonQueryAsync(Ct);
    }

    protected override async Task<(IStateStore Store, SqliteDatabase? Database, Func<ValueTask> Release)> OpenStorageAsync(string instance)
    {
        _dataSource ??= NpgsqlDataSource.Create(TestServers.Postgres);
        var store = await PostgresStateStore.OpenAsync(_dataSource, _schema, new OutboxSignal(), Ct);
        return (store, null, () => ValueTask.CompletedTask);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_dataSource is not null)
        {
            await using (var command = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE"))
            {
                await command.ExecuteNonQueryAsync();
            }

            await _dataSource.DisposeAsync();
        }

        if (TopicsUsed.Count > 0 && Environment.GetEnvironmentVariable("SERVERLESS_TEST_RABBITMQ") is { Length: > 0 } broker)
        {
            await DeleteTopologyAsync(broker);
        }
    }

    [Fact]
    public async Task Events_the_outbox_relay_leased_together_travel_as_one_message_per_topic_and_reach_every_subscription_once_each()
    {
        var orders = Topic("orders");
        var invoices = Topic("invoices");
        var audit = Subscription("audit");
        var billing = Subscription("billing");
        var ledger = Subscription("ledger");
        void Subscribe(IServiceCollection s) => s
            .AddSubscription<RecordingHandler>(orders, audit)
            .AddSubscription<RecordingHandler>(orders, billing)
            .AddSubscription<RecordingHandler>(invoices, ledger);

        // The queues exist (bound) but nobody consumes while the relay publishes, so the broker's counts show the messages.
        var declared = await StartInstanceAsync("declare", Subscribe);
        await declared.StopAsync();
        var relayer = await StartInstanceAsync("relayer", s => s.AddTopic(orders).AddTopic(invoices));
        var store = relayer.Services.GetRequiredService<IStateStore>();
        var transaction = new StateTransaction();
        var orderIds = Enumerable.Range(0, 100).Select(i => $"order-{i}").ToList();
        var invoiceIds = Enumerable.Range(0, 30).Select(i => $"invoice-{i}").ToList();
        foreach (var (id, i) in orderIds.Select((id, i) => (id, i)))
        {
            transaction.Publish(orders, NewEvent(id));
            if (i < invoiceIds.Count)
            {
                transaction.Publish(invoices, NewEvent(invoiceIds[i]));
            }
        }

        await store.TransactAsync(transaction, Ct);
        var relay = new OutboxRelay((IOutboxStore)store, relayer.Publisher, new OutboxSignal(), NullLogger<OutboxRelay>.Instance);
        Assert.Equal(130, await relay.RelayBatchAsync(Ct));
        Assert.Equal(0, await ((IOutboxStore)store).CountAsync(Ct));

        var factory = new ConnectionFactory { Uri = new Uri(TestServers.RabbitMq) };
        await using (var connection = await factory.CreateConnectionAsync(Ct))
        await using (var channel = await connection.CreateChannelAsync(cancellationToken: Ct))
        {
            // 100 orders at most 64 a message: 2 messages in each of the topic's queues; 30 invoices: 1.
            Assert.Equal(2u, (await channel.QueueDeclarePassiveAsync(PubSubTransport.QueueName(audit), Ct)).MessageCount);
            Assert.Equal(2u, (await channel.QueueDeclarePassiveAsync(PubSubTransport.QueueName(billing), Ct)).MessageCount);
            Assert.Equal(1u, (await channel.QueueDeclarePassiveAsync(PubSubTransport.QueueName(ledger), Ct)).MessageCount);
        }

        await StartInstanceAsync("consumer", Subscribe);
        Assert.Equal(orderIds.ToHashSet(), (await Probe.WaitForHandledAsync(audit, orderIds.Count)).Select(c => c.Event.Id).ToHashSet());
        Assert.Equal(orderIds.ToHashSet(), (await Probe.WaitForHandledAsync(billing, orderIds.Count)).Select(c => c.Event.Id).ToHashSet());
        Assert.Equal(invoiceIds.ToHashSet(), (await Probe.WaitForHandledAsync(ledger, invoiceIds.Count)).Select(c => c.Event.Id).ToHashSet());
        Assert.Equal(orderIds.Count, Probe.HandledBy(audit).Count);
    }

    [Fact]
    public async Task Topics_are_durable_fanout_exchanges_and_subscriptions_durable_queues_holding_persistent_messages()
    {
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var subscriber = await StartInstanceAsync("subscriber", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        await subscriber.StopAsync();
        var publisher = await StartInstanceAsync("publisher", s => s.AddTopic(topic));

        await publisher.Publisher.PublishAsync(topic, NewEvent("order-1"), Ct);

        var factory = new ConnectionFactory { Uri = new Uri(TestServers.RabbitMq) };
        await using var connection = await factory.CreateConnectionAsync(Ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Ct);

        // Re-declaring with the expected properties fails (PRECONDITION_FAILED) if the existing ones differ.
        await channel.ExchangeDeclareAsync(RabbitMqTransport.ExchangeName(topic), ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: Ct);
        var queue = await channel.QueueDeclarePassiveAsync(PubSubTransport.QueueName(subscription), Ct);
        Assert.Equal(1u, queue.MessageCount);
        await channel.QueueDeclareAsync(PubSubTransport.QueueName(subscription), durable: true, exclusive: false, autoDelete: false, cancellationToken: Ct);

        var message = await channel.BasicGetAsync(PubSubTransport.QueueName(subscription), autoAck: false, Ct);
        Assert.NotNull(message);
        Assert.Equal(DeliveryModes.Persistent, message.BasicProperties.DeliveryMode);
        using var body = JsonDocument.Parse(message.Body);
        Assert.Contains("EventEnvelope", body.RootElement.GetProperty("messageType")[0].GetString(), StringComparison.Ordinal);
        await channel.BasicNackAsync(message.DeliveryTag, multiple: false, requeue: true, Ct);

        // The event waited in the durable queue while no subscriber ran; the subscriber gets it on its return.
        await StartInstanceAsync("subscriber-again", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        Assert.Equal("order-1", Assert.Single(await Probe.WaitForHandledAsync(subscription, 1)).Event.Id);
    }

    [Fact]
    public async Task Dead_letters_stored_by_one_instance_are_replayed_by_another()
    {
        var topic = Topic("orders");
        var subscription = Subscription("audit");
        var broken = true;
        Probe.Behaviours[subscription] = (_, _) => Volatile.Read(ref broken) ? throw new InvalidOperationException("down") : Task.CompletedTask;
        void Configure(IServiceCollection s) => s.AddSubscription<RecordingHandler>(topic, subscription);
        var first = await StartInstanceAsync("first", Configure, FastRetries(maxRetries: 0));
        await first.Publisher.PublishAsync(topic, NewEvent("order-1"), Ct);
        var deadLetter = Assert.Single((await Poll.UntilAsync(() => first.DeadLetters.ListAsync(subscription, cancellationToken: Ct), p => p.Items.Count > 0, "a dead letter")).Items);
        await first.StopAsync();

        Volatile.Write(ref broken, false);
        var second = await StartInstanceAsync("second", Configure);
        AssertSame(deadLetter, await second.DeadLetters.GetAsync(deadLetter.Id, Ct));
        Assert.True(await second.DeadLetters.ReplayAsync(deadLetter.Id, Ct));

        var handled = Assert.Single(await Probe.WaitForHandledAsync(subscription, 1));
        Assert.Equal(("second", "order-1", true), (handled.Instance, handled.Event.Id, handled.Context.Redelivered));
        Assert.Null(await first.Services.GetRequiredService<IStateStore>().GetAsync("pubsub||deadletter||" + deadLetter.Id, Ct));
    }

    private async Task DeleteTopologyAsync(string broker)
    {
        var factory = new ConnectionFactory { Uri = new Uri(broker) };
        await using var connection = await factory.CreateConnectionAsync();
        foreach (var subscription in SubscriptionsUsed)
        {
            var queue = PubSubTransport.QueueName(subscription);
            foreach (var name in new[] { queue, queue + "_error", queue + "_skipped" })
            {
                await using var channel = await connection.CreateChannelAsync();
                await channel.QueueDeleteAsync(name, ifUnused: false, ifEmpty: false);
                await channel.ExchangeDeleteAsync(name, ifUnused: false);
            }
        }

        foreach (var topic in TopicsUsed)
        {
            await using var channel = await connection.CreateChannelAsync();
            await channel.ExchangeDeleteAsync(RabbitMqTransport.ExchangeName(topic), ifUnused: false);
        }
    }

    /// <summary>Two deployments on one broker (say two schemas) with the same topic and subscription names stay apart.</summary>
    [Fact]
    public async Task Deployments_in_different_namespaces_share_a_broker_without_seeing_each_others_events()
    {
        var topic = Topic("tenanted");
        var subscription = Subscription("tenanted-reader");
        PubSubOptions InNamespace(string ns)
        {
            var options = FastRetries();
            options.Namespace = ns + "-" + Prefix;
            return options;
        }

        var a = await StartInstanceAsync("a", s => s.AddSubscription<RecordingHandler>(topic, subscription), InNamespace("deployment-a"));
        var b = await StartInstanceAsync("b", s => s.AddSubscription<RecordingHandler>(topic, subscription), InNamespace("deployment-b"));

        for (var i = 0; i < 10; i++)
        {
            await a.Publisher.PublishAsync(topic, NewEvent($"a-{i}"), Ct);
            await b.Publisher.PublishAsync(topic, NewEvent($"b-{i}"), Ct);
        }

        var handled = await Probe.WaitForHandledAsync(subscription, 20);
        Assert.All(handled, call => Assert.StartsWith(call.Instance + "-", call.Event.Id, StringComparison.Ordinal));
        Assert.Equal(10, handled.Count(c => c.Instance == "a"));
        Assert.Equal(10, handled.Count(c => c.Instance == "b"));
    }

    /// <summary>Competing consumers: processes sharing a subscription name share its queue.</summary>
    [Fact]
    public async Task Instances_sharing_a_subscription_split_its_events_and_lose_none()
    {
        var topic = Topic("orders");
        var subscription = Subscription("fulfilment");
        Probe.Behaviours[subscription] = (_, ct) => Task.Delay(5, ct);
        var first = await StartInstanceAsync("first", s => s.AddSubscription<RecordingHandler>(topic, subscription));
        await StartInstanceAsync("second", s => s.AddSubscription<RecordingHandler>(topic, subscription));

        var ids = Enumerable.Range(0, 60).Select(i => $"order-{i}").ToList();
        foreach (var id in ids)
        {
            await first.Publisher.PublishAsync(topic, NewEvent(id), Ct);
        }

        var handled = await Probe.WaitForHandledAsync(subscription, ids.Count);
        Assert.Equal(ids.ToHashSet(), handled.Select(c => c.Event.Id).ToHashSet());
        var byInstance = handled.GroupBy(c => c.Instance).ToDictionary(g => g.Key, g => g.Count());
        Assert.True(byInstance.GetValueOrDefault("first") > 0 && byInstance.GetValueOrDefault("second") > 0, $"work was not shared: {string.Join(", ", byInstance)}");
    }
}
