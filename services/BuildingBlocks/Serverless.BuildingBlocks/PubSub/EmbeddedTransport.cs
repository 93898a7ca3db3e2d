using System.Collections.Concurrent;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub.Transport;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// The embedded profile: MassTransit's in-memory transport (a queue per subscription) for dispatch,
/// the SQLite <see cref="EventLedger"/> for durability. Publishing completes when the ledger rows are
/// committed; a row goes away once its subscription handled or dead-lettered the event; rows left by a
/// crash are delivered again at the next start. Events travel in <see cref="EventBatch"/>es: whatever
/// accumulated for a subscription while the previous batch was being sent. A batch stays in the process; the queue
/// carries an <see cref="EventBatchToken"/> for it, which its consumer exchanges for the batch (once: a token whose
/// batch was taken already is ignored, and events not handled stay in the ledger for the next start).
/// </summary>
internal sealed partial class EmbeddedTransport : PubSubTransport, ISqliteInlinePublisher
{
    private const int MaxBatch = 256;

    private readonly EventLedger _ledger;
    private readonly ILogger _logger;
    private readonly Dictionary<string, SubscriptionQueue> _queues = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<long, EventEnvelope[]> _batches = new();
    private long _lastBatch;

    public EmbeddedTransport(TopicRegistry topics, EventDispatcher dispatcher, PubSubOptions options, EventLedger ledger, ILoggerFactory loggerFactory)
        : base(topics, dispatcher, options, loggerFactory)
    {
        _ledger = ledger;
        _logger = loggerFactory.CreateLogger<EmbeddedTransport>();
        foreach (var subscription in topics.Subscriptions)
        {
            _queues[subscription.Name] = new SubscriptionQueue(subscription, options.ConcurrencyPerSubscription);
        }
    }

    public override async Task RedeliverAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var body = cloudEventJson.ToArray();
        var (ids, dispatch) = await _ledger.AppendAsync([subscription], subscription.Topic, body, cancellationToken).ConfigureAwait(false);
        if (dispatch)
        {
            _queues[subscription.Name].Enqueue(new EventEnvelope { Topic = subscription.Topic, CloudEvent = body, LedgerId = ids[0], Redelivered = true });
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

        var (ids, dispatch) = await _ledger.AppendAsync(subscriptions, topic, cloudEventJson, cancellationToken).ConfigureAwait(false);
        if (!dispatch)
        {
            return;
        }

        for (var i = 0; i < subscriptions.Length; i++)
        {
            _queues[subscriptions[i].Name].Enqueue(new EventEnvelope { Topic = topic, CloudEvent = cloudEventJson, LedgerId = ids[i] });
        }
    }

    public bool TryAppend(SqliteWriteSession session, string topic, byte[] cloudEventJson)
    {
        if (!SubscriptionsByTopic.TryGetValue(topic, out var subscriptions))
        {
            // Not a topic this process knows: the outbox relay reports it.
            return false;
        }

        if (subscriptions.Length > 0 && !_ledger.TryAppendInSession(session, subscriptions, topic, cloudEventJson, ids =>
            {
                for (var i = 0; i < subscriptions.Length; i++)
                {
                    _queues[subscriptions[i].Name].Enqueue(new EventEnvelope { Topic = topic, CloudEvent = cloudEventJson, LedgerId = ids[i] });
                }
            }))
        {
            return false;
        }

        ServerlessTelemetry.EventsPublished.Add(1, new KeyValuePair<string, object?>("messaging.destination.name", topic));
        return true;
    }

    protected override IBusControl CreateBus() => MassTransit.Bus.Factory.CreateUsingInMemory(bus =>
    {
        foreach (var queue in _queues.Values)
        {
            bus.ReceiveEndpoint(QueueName(queue.Subscription.Name), endpoint =>
            {
                endpoint.ConfigureConsumeTopology = false;
                endpoint.PublishFaults = false;

                // Batches may overlap; the subscription's gate bounds how many events run at once.
                endpoint.ConcurrentMessageLimit = Options.ConcurrencyPerSubscription;
                endpoint.PrefetchCount = Options.ConcurrencyPerSubscription;
                endpoint.Handler<EventBatchToken>(context => ConsumeAsync(queue, context));
            });
        }
    });

    protected override async Task OnStartedAsync(CancellationToken cancellationToken)
    {
        foreach (var queue in _queues.Values)
        {
            var endpoint = await RunningBus.GetSendEndpoint(new Uri("queue:" + QueueName(queue.Subscription.Name))).ConfigureAwait(false);
            queue.StartPump(events => SendAsync(endpoint, events), _logger);
        }

        var watermark = await _ledger.StartDispatchingAsync().ConfigureAwait(false);
        var recovered = 0;
        await foreach (var entry in _ledger.ReadUpToAsync(watermark, cancellationToken).ConfigureAwait(false))
        {
            if (!_queues.TryGetValue(entry.Subscription, out var queue))
            {
                // Kept, not dropped: the subscription may come back with the next deployment.
                LogOrphan(_logger, entry.Id, entry.Subscription);
                continue;
            }

            queue.Enqueue(new EventEnvelope { Topic = entry.Topic, CloudEvent = entry.CloudEventJson, LedgerId = entry.Id, Redelivered = true });
            recovered++;
        }

        if (recovered > 0)
        {
            LogRecovered(_logger, recovered);
        }
    }

    protected override void OnStopping()
    {
        _ledger.StopDispatching();
        foreach (var queue in _queues.Values)
        {
            queue.Complete();
        }
    }

    protected override async Task OnStoppedAsync()
    {
        foreach (var queue in _queues.Values)
        {
            await queue.PumpStopped.ConfigureAwait(false);
        }

        await _ledger.DisposeAsync().ConfigureAwait(false);
        _batches.Clear();
    }

    /// <summary>Keeps a batch in the process and sends its queue the token the consumer takes it back with.</summary>
    private async Task SendAsync(ISendEndpoint endpoint, EventEnvelope[] events)
    {
        var token = Interlocked.Increment(ref _lastBatch);
        _batches[token] = events;
        try
        {
            await endpoint.Send(new EventBatchToken { Token = token }, CancellationToken.None).ConfigureAwait(false);
        }
        catch
        {
            _batches.TryRemove(token, out _);
            throw;
        }
    }

    // Stopping part-way: the rest of the batch stays in the ledger for the next start.
    private Task<bool> ConsumeAsync(SubscriptionQueue queue, ConsumeContext<EventBatchToken> context) =>
        _batches.TryRemove(context.Message.Token, out var events)
            ? DeliverGatedAsync(events, queue.Gate, envelope => DeliverAsync(queue, envelope, context), context.CancellationToken)
            : Task.FromResult(true);

    private async Task DeliverAsync(SubscriptionQueue queue, EventEnvelope envelope, ConsumeContext context)
    {
        try
        {
            await Dispatcher.DispatchAsync(queue.Subscription, envelope.CloudEvent, envelope.Redelivered, context.CancellationToken).ConfigureAwait(false);
            _ledger.Settle(envelope.LedgerId);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // Interrupted by shutdown: the ledger row stays and the next start delivers the event again.
        }
        catch (Exception ex)
        {
            // The dispatcher settles every failure itself; reaching this is a bug. The row stays for the next start.
            LogDeliveryFailed(_logger, ex, envelope.LedgerId, queue.Subscription.Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ledger row {Id} belongs to subscription {Subscription}, which this process does not register; leaving it")]
    private static partial void LogOrphan(ILogger logger, long id, string subscription);

    [LoggerMessage(Level = LogLevel.Information, Message = "Delivering {Count} events again that were not settled before the last stop")]
    private static partial void LogRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatching {Count} events to subscription {Subscription} failed; they will be delivered at the next start")]
    private static partial void LogDispatchFailed(ILogger logger, Exception error, int count, string subscription);

    [LoggerMessage(Level = LogLevel.Error, Message = "Delivering ledger row {Id} to subscription {Subscription} failed unexpectedly; it will be delivered at the next start")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception error, long id, string subscription);

    /// <summary>One subscription's side of the embedded transport: events waiting to be sent, and the gate its handlers pass.</summary>
    private sealed class SubscriptionQueue(SubscriptionDescriptor subscription, int concurrency)
    {
        private readonly Channel<EventEnvelope> _pending = Channel.CreateUnbounded<EventEnvelope>(new UnboundedChannelOptions { SingleReader = true });
        private Task _pump = Task.CompletedTask;

        public SubscriptionDescriptor Subscription { get; } = subscription;

        /// <summary>Bounds the handlers running at once for this subscription, across batches.</summary>
        public SemaphoreSlim Gate { get; } = new(concurrency, concurrency);

        public Task PumpStopped => _pump;

        public void Enqueue(EventEnvelope envelope) => _pending.Writer.TryWrite(envelope);

        public void Complete() => _pending.Writer.TryComplete();

        public void StartPump(Func<EventEnvelope[], Task> send, ILogger logger) => _pump = Task.Run(() => PumpAsync(send, logger));

        /// <summary>Sends what accumulated while the previous send ran, up to <see cref="MaxBatch"/> events a message.</summary>
        private async Task PumpAsync(Func<EventEnvelope[], Task> send, ILogger logger)
        {
            var batch = new List<EventEnvelope>(MaxBatch);
            while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var envelope))
                {
                    batch.Add(envelope);
                }

                try
                {
                    await send([.. batch]).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    // The events are durable in the ledger; they are delivered at the next start.
                    LogDispatchFailed(logger, ex, batch.Count, Subscription.Name);
                }
            }
        }
    }
}
