using MassTransit;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub.Transport;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// The embedded profile: MassTransit's in-memory transport (a queue per subscription) for dispatch,
/// the SQLite <see cref="EventLedger"/> for durability. Publishing completes when the ledger rows are
/// committed; a row goes away once its subscription handled or dead-lettered the event; rows left by a
/// crash are delivered again at the next start.
/// </summary>
internal sealed partial class EmbeddedTransport(
    TopicRegistry topics,
    EventDispatcher dispatcher,
    PubSubOptions options,
    EventLedger ledger,
    ILoggerFactory loggerFactory)
    : PubSubTransport(topics, dispatcher, options, loggerFactory)
{
    private readonly ILogger _logger = loggerFactory.CreateLogger<EmbeddedTransport>();
    private readonly Dictionary<string, ISendEndpoint> _queues = new(StringComparer.Ordinal);

    /// <summary>Only touched on the ledger's writer thread or before/after the bus runs (see <see cref="EventLedger.AppendAsync"/>).</summary>
    private volatile bool _dispatching;

    public override async Task RedeliverAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var body = cloudEventJson.ToArray();
        var (ids, dispatch) = await ledger.AppendAsync([subscription], subscription.Topic, body, () => _dispatching, cancellationToken).ConfigureAwait(false);
        if (dispatch)
        {
            await SendAsync(subscription, ids[0], body, redelivered: true).ConfigureAwait(false);
        }
    }

    protected override async Task PublishDurablyAsync(string topic, byte[] cloudEventJson, CancellationToken cancellationToken)
    {
        var subscriptions = SubscriptionsByTopic[topic];
        if (subscriptions.Length == 0)
        {
            // Declared, but nothing in this process subscribes: there is nobody to deliver to.
            return;
        }

        var (ids, dispatch) = await ledger.AppendAsync(subscriptions, topic, cloudEventJson, () => _dispatching, cancellationToken).ConfigureAwait(false);
        if (!dispatch)
        {
            return;
        }

        for (var i = 0; i < subscriptions.Length; i++)
        {
            await SendAsync(subscriptions[i], ids[i], cloudEventJson, redelivered: false).ConfigureAwait(false);
        }
    }

    protected override IBusControl CreateBus() => MassTransit.Bus.Factory.CreateUsingInMemory(bus =>
    {
        foreach (var subscription in Topics.Subscriptions)
        {
            bus.ReceiveEndpoint(QueueName(subscription.Name), endpoint =>
            {
                endpoint.ConfigureConsumeTopology = false;
                endpoint.PublishFaults = false;
                endpoint.ConcurrentMessageLimit = Options.ConcurrencyPerSubscription;
                endpoint.PrefetchCount = Math.Max(Options.PrefetchCount, Options.ConcurrencyPerSubscription);
                endpoint.Handler<EventEnvelope>(context => ConsumeAsync(subscription, context));
            });
        }
    });

    protected override async Task OnStartedAsync(CancellationToken cancellationToken)
    {
        foreach (var subscription in Topics.Subscriptions)
        {
            _queues[subscription.Name] = await RunningBus.GetSendEndpoint(new Uri("queue:" + QueueName(subscription.Name))).ConfigureAwait(false);
        }

        var watermark = await ledger.StartDispatchingAsync(() => _dispatching = true).ConfigureAwait(false);
        var recovered = 0;
        await foreach (var entry in ledger.ReadUpToAsync(watermark, cancellationToken).ConfigureAwait(false))
        {
            var subscription = Topics.Subscriptions.FirstOrDefault(s => string.Equals(s.Name, entry.Subscription, StringComparison.Ordinal));
            if (subscription is null)
            {
                // Kept, not dropped: the subscription may come back with the next deployment.
                LogOrphan(_logger, entry.Id, entry.Subscription);
                continue;
            }

            await SendAsync(subscription, entry.Id, entry.CloudEventJson, redelivered: true).ConfigureAwait(false);
            recovered++;
        }

        if (recovered > 0)
        {
            LogRecovered(_logger, recovered);
        }
    }

    protected override void OnStopping() => _dispatching = false;

    protected override async Task OnStoppedAsync() => await ledger.DisposeAsync().ConfigureAwait(false);

    private async Task ConsumeAsync(SubscriptionDescriptor subscription, ConsumeContext<EventEnvelope> context)
    {
        try
        {
            await DispatchAsync(subscription, context).ConfigureAwait(false);
            ledger.Settle(context.Message.LedgerId);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Interrupted by shutdown: the ledger row stays and the next start delivers the event again.
        }
    }

    private async Task SendAsync(SubscriptionDescriptor subscription, long ledgerId, byte[] cloudEventJson, bool redelivered)
    {
        var envelope = new EventEnvelope { Topic = subscription.Topic, CloudEvent = cloudEventJson, LedgerId = ledgerId, Redelivered = redelivered };
        try
        {
            await _queues[subscription.Name].Send(envelope, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // The event is durable in the ledger; it is delivered at the next start.
            LogDispatchFailed(_logger, ex, ledgerId, subscription.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger row {Id} belongs to subscription {Subscription}, which this process does not register; leaving it")]
    private static partial void LogOrphan(ILogger logger, long id, string subscription);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivering {Count} events again that were not settled before the last stop")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatching ledger row {Id} to subscription {Subscription} failed; it will be delivered at the next start")]
    private static partial void LogDispatchFailed(ILogger logger, Exception error, long id, string subscription);
}
