using System.Diagnostics;
using Azure.Messaging;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub.Transport;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// What both transports share: the MassTransit bus lifecycle, the publish span and metrics, and a shutdown
/// that interrupts handlers only when the host stops being graceful. Both hand every delivery to the
/// <see cref="EventDispatcher"/> with MassTransit's own consume token: MassTransit turns a cancellation it did
/// not cause into a fault and moves the message to the _error queue, where nobody would deliver it again.
/// </summary>
internal abstract class PubSubTransport(TopicRegistry topics, EventDispatcher dispatcher, PubSubOptions options, ILoggerFactory loggerFactory)
    : IEventPublisher, IPubSubHealth, ISubscriptionRedelivery, IHostedService, IAsyncDisposable
{
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IBusControl? _bus;
    private volatile bool _running;
    private readonly RunOnce _stop = new();

    protected TopicRegistry Topics { get; } = topics;

    protected EventDispatcher Dispatcher { get; } = dispatcher;

    protected PubSubOptions Options { get; } = options;

    protected IBusControl RunningBus => _bus ?? throw new InvalidOperationException("Pub/sub has not been started.");

    /// <summary>Completes once the bus runs.</summary>
    protected Task Started => _started.Task;

    /// <summary>The subscriptions of each topic, looked up once rather than per publish.</summary>
    protected IReadOnlyDictionary<string, SubscriptionDescriptor[]> SubscriptionsByTopic { get; } =
        topics.Topics.ToDictionary(t => t.Name, t => topics.SubscriptionsOf(t.Name).ToArray(), StringComparer.Ordinal);

    public async Task PublishAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        Topics.EnsureKnown(topic);
        using var activity = EventTracing.StartPublish(topic, cloudEvent);
        var body = CloudEventJson.Serialize(cloudEvent);
        try
        {
            await PublishDurablyAsync(topic, body, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
            throw;
        }

        ServerlessTelemetry.EventsPublished.Add(1, new KeyValuePair<string, object?>("messaging.destination.name", topic));
    }

    public abstract Task RedeliverAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, CancellationToken cancellationToken);

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken = default) =>
        Task.FromResult(_running && _bus is not null && _bus.CheckHealth().Status == BusHealthStatus.Healthy);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // MassTransit logs through the context current when the bus starts (connection loss, faults, topology).
        LogContext.ConfigureCurrentLogContext(loggerFactory);
        _bus = CreateBus();
        await StartBusAsync(_bus, cancellationToken).ConfigureAwait(false);
        _running = true;
        _started.TrySetResult();
        await OnStartedAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops once; a second caller (a test server stops its host twice at the same time) waits for that stop instead of returning while the bus still runs.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => _stop.Run(() => StopOnceAsync(cancellationToken));

    private async Task StopOnceAsync(CancellationToken cancellationToken)
    {
        _running = false;
        OnStopping();
        if (_bus is not null)
        {
            // Graceful first: the bus stops taking deliveries and waits for the ones in hand. When the host
            // runs out of patience, cancelling MassTransit's own stop cancels every handler's token and stops
            // waiting; interrupted deliveries stay unacknowledged and the broker (or the ledger) delivers them again.
            // The stop must start before it is cancelled, or MassTransit would not stop consuming at all.
            using var impatient = new CancellationTokenSource();
            var stopped = _bus.StopAsync(impatient.Token);
            using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), impatient))
            {
                await stopped.ConfigureAwait(false);
            }
        }

        await OnStoppedAsync().ConfigureAwait(false);
    }

    public virtual async ValueTask DisposeAsync()
    {
        // Disposed without a stop (the host was disposed, not stopped): a crash-like stop that interrupts handlers.
        await StopAsync(new CancellationToken(canceled: true)).ConfigureAwait(false);
    }

    protected abstract IBusControl CreateBus();

    /// <summary>Makes the event durable on this transport: every subscription will get it at least once.</summary>
    protected abstract Task PublishDurablyAsync(string topic, byte[] cloudEventJson, CancellationToken cancellationToken);

    protected virtual Task StartBusAsync(IBusControl bus, CancellationToken cancellationToken) => bus.StartAsync(cancellationToken);

    protected virtual Task OnStartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    protected virtual void OnStopping()
    {
    }

    protected virtual Task OnStoppedAsync() => Task.CompletedTask;

    /// <summary>
    /// Delivers a batch's events side by side, each started once <paramref name="gate"/> (the subscription's
    /// concurrency) admits it and released when its delivery ends; waits for every delivery started. False when
    /// <paramref name="stopping"/> cut the batch short (some events never started).
    /// </summary>
    protected static async Task<bool> DeliverGatedAsync(IReadOnlyList<EventEnvelope> events, SemaphoreSlim gate, Func<EventEnvelope, Task> deliver, CancellationToken stopping)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(gate);
        ArgumentNullException.ThrowIfNull(deliver);
        var running = new List<Task>(events.Count);
        var complete = true;
        foreach (var envelope in events)
        {
            try
            {
                await gate.WaitAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                complete = false;
                break;
            }

            running.Add(ReleaseAfterAsync(deliver(envelope), gate));
        }

        await Task.WhenAll(running).ConfigureAwait(false);
        return complete;
    }

    private static async Task ReleaseAfterAsync(Task delivery, SemaphoreSlim gate)
    {
        try
        {
            await delivery.ConfigureAwait(false);
        }
        finally
        {
            gate.Release();
        }
    }

    internal static string QueueName(string subscription, string ns = DefaultNamespace) => ns + ".sub." + subscription;

    /// <summary>The namespace of the default PostgreSQL schema: the names every deployment used before namespaces.</summary>
    internal const string DefaultNamespace = "serverless";
}
