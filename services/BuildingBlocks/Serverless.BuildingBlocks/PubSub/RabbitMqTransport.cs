using System.Diagnostics;
using Azure.Messaging;
using MassTransit;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub.Transport;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// The distributed profile: a durable fanout exchange per topic (<c>{namespace}.topic.{topic}</c>) and a
/// durable queue per subscription (<c>{namespace}.sub.{subscription}</c>) bound to it; the namespace is
/// <see cref="PubSubOptions.Namespace"/>, by default the PostgreSQL schema. Every subscription
/// gets every event; processes that register the same subscription consume the same queue and share its
/// events. Messages are persistent and each publish waits for the broker's confirm; a delivery is acked
/// only after the dispatcher settled it, so one in hand when its process dies goes back to the queue. Events the outbox
/// relay leased together travel as one <see cref="EventBatch"/> per topic: one broker message (publish, confirm, one
/// delivery and ack per subscription) instead of one per event, each event then handled on its own.
/// </summary>
internal sealed class RabbitMqTransport(
    TopicRegistry topics,
    EventDispatcher dispatcher,
    PubSubOptions options,
    Uri broker,
    string ns,
    ILoggerFactory loggerFactory)
    : PubSubTransport(topics, dispatcher, options, loggerFactory), IBatchEventPublisher
{
    /// <summary>Events per broker message at most: a batch of push events stays well under a megabyte.</summary>
    public int MaxBatch => 64;

    /// <summary>Start-up fails (rather than waits forever) when the broker does not answer within this.</summary>
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    public const string BrokerSetting = "ConnectionStrings:RabbitMq";

    public static string ExchangeName(string topic, string ns = DefaultNamespace) => ns + ".topic." + topic;

    public override async Task RedeliverAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        await Started.WaitAsync(cancellationToken).ConfigureAwait(false);

        // Straight to the subscription's queue, so the topic's other subscriptions do not see the event again.
        var queue = await RunningBus.GetSendEndpoint(new Uri("queue:" + QueueName(subscription.Name, ns))).ConfigureAwait(false);
        var envelope = new EventEnvelope { Topic = subscription.Topic, CloudEvent = cloudEventJson.ToArray(), Redelivered = true };
        await queue.Send(envelope, context => context.Durable = true, cancellationToken).ConfigureAwait(false);
    }

    protected override async Task PublishDurablyAsync(string topic, byte[] cloudEventJson, CancellationToken cancellationToken)
    {
        // Publishing before the bus runs (another hosted service starting first) waits for it.
        await Started.WaitAsync(cancellationToken).ConfigureAwait(false);
        var exchange = await TopicExchangeAsync(topic).ConfigureAwait(false);

        // Completes when the broker confirmed the persistent message (publisher confirms are on).
        await exchange.Send(new EventEnvelope { Topic = topic, CloudEvent = cloudEventJson }, context => context.Durable = true, cancellationToken).ConfigureAwait(false);
    }

    public async Task PublishBatchAsync(string topic, IReadOnlyList<CloudEvent> cloudEvents, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cloudEvents);
        Topics.EnsureKnown(topic);
        var spans = new Activity?[cloudEvents.Count];
        var envelopes = new EventEnvelope[cloudEvents.Count];
        var current = Activity.Current;
        try
        {
            for (var i = 0; i < cloudEvents.Count; i++)
            {
                // Each event gets its own publish span (a sibling, not a child of the previous one).
                spans[i] = EventTracing.StartPublish(topic, cloudEvents[i]);
                Activity.Current = current;
                envelopes[i] = new EventEnvelope { Topic = topic, CloudEvent = CloudEventJson.Serialize(cloudEvents[i]) };
            }

            await Started.WaitAsync(cancellationToken).ConfigureAwait(false);
            var exchange = await TopicExchangeAsync(topic).ConfigureAwait(false);
            await exchange.Send(new EventBatch { Events = envelopes }, context => context.Durable = true, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var span in spans)
            {
                span?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            }

            throw;
        }
        finally
        {
            foreach (var span in spans)
            {
                span?.Dispose();
            }

            Activity.Current = current;
        }

        ServerlessTelemetry.EventsPublished.Add(cloudEvents.Count, new KeyValuePair<string, object?>("messaging.destination.name", topic));
    }

    protected override IBusControl CreateBus() => MassTransit.Bus.Factory.CreateUsingRabbitMq(bus =>
    {
        bus.Host(broker, host => host.PublisherConfirmation = true);
        foreach (var subscription in Topics.Subscriptions)
        {
            bus.ReceiveEndpoint(QueueName(subscription.Name, ns), endpoint =>
            {
                // Only the topic exchange feeds this queue: no MassTransit message-type exchanges.
                endpoint.ConfigureConsumeTopology = false;
                endpoint.Durable = true;
                endpoint.AutoDelete = false;
                endpoint.PublishFaults = false;
                endpoint.PrefetchCount = Options.PrefetchCount;
                endpoint.ConcurrentMessageLimit = Options.ConcurrencyPerSubscription;
                endpoint.Bind(ExchangeName(subscription.Topic, ns), exchange =>
                {
                    exchange.ExchangeType = ExchangeType.Fanout;
                    exchange.Durable = true;
                    exchange.AutoDelete = false;
                });

                // An exception (only OperationCanceledException at shutdown) nacks the delivery back to the queue.
                endpoint.Handler<EventEnvelope>(context => Dispatcher.DispatchAsync(
                    subscription,
                    context.Message.CloudEvent,
                    context.Message.Redelivered || context.ReceiveContext.Redelivered,
                    context.CancellationToken));

                // Batches may overlap; the gate keeps this subscription's events in hand at the configured concurrency.
                var gate = new SemaphoreSlim(Options.ConcurrencyPerSubscription);
                endpoint.Handler<EventBatch>(context => ConsumeBatchAsync(subscription, gate, context));
            });
        }
    });

    /// <summary>
    /// Handles a batch's events side by side (within the gate). Stopping before all of them ran nacks the whole batch
    /// (after waiting for the ones in hand), so the broker delivers it again; the ones already handled see it twice.
    /// </summary>
    private async Task ConsumeBatchAsync(SubscriptionDescriptor subscription, SemaphoreSlim gate, ConsumeContext<EventBatch> context)
    {
        var redelivered = context.ReceiveContext.Redelivered;
        if (!await DeliverGatedAsync(
                context.Message.Events,
                gate,
                envelope => Dispatcher.DispatchAsync(subscription, envelope.CloudEvent, envelope.Redelivered || redelivered, context.CancellationToken),
                context.CancellationToken).ConfigureAwait(false))
        {
            throw new OperationCanceledException(context.CancellationToken);
        }
    }

    /// <summary>The topic's durable fanout exchange, for sends that complete on the broker's confirm.</summary>
    private Task<ISendEndpoint> TopicExchangeAsync(string topic) =>
        RunningBus.GetSendEndpoint(new Uri($"exchange:{ExchangeName(topic, ns)}?type={ExchangeType.Fanout}&durable=true"));

    protected override async Task StartBusAsync(IBusControl bus, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(StartTimeout);
        try
        {
            await bus.StartAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ServerlessConfigurationException(BrokerSetting, $"RabbitMQ at {Redacted(broker)} did not accept the connection within {StartTimeout.TotalSeconds:0} s: {ex.Message}", ex);
        }
    }

    /// <summary>The broker address without its credentials, for messages and logs.</summary>
    internal static string Redacted(Uri uri) => uri.GetComponents(UriComponents.SchemeAndServer | UriComponents.Path, UriFormat.UriEscaped);
}
