using MassTransit;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub.Transport;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// The distributed profile: a durable fanout exchange per topic (<c>{namespace}.topic.{topic}</c>) and a
/// durable queue per subscription (<c>{namespace}.sub.{subscription}</c>) bound to it; the namespace is
/// <see cref="PubSubOptions.Namespace"/>, by default the PostgreSQL schema. Every subscription
/// gets every event; processes that register the same subscription consume the same queue and share its
/// events. Messages are persistent and each publish waits for the broker's confirm; a delivery is acked
/// only after the dispatcher settled it, so one in hand when its process dies goes back to the queue.
/// </summary>
internal sealed class RabbitMqTransport(
    TopicRegistry topics,
    EventDispatcher dispatcher,
    PubSubOptions options,
    Uri broker,
    string ns,
    ILoggerFactory loggerFactory)
    : PubSubTransport(topics, dispatcher, options, loggerFactory)
{
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
        var exchange = await RunningBus.GetSendEndpoint(new Uri($"exchange:{ExchangeName(topic, ns)}?type={ExchangeType.Fanout}&durable=true")).ConfigureAwait(false);

        // Completes when the broker confirmed the persistent message (publisher confirms are on).
        await exchange.Send(new EventEnvelope { Topic = topic, CloudEvent = cloudEventJson }, context => context.Durable = true, cancellationToken).ConfigureAwait(false);
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
            });
        }
    });

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
