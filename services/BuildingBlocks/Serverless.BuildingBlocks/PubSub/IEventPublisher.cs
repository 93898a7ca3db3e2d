using Azure.Messaging;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// Publishes CloudEvents to named topics. Completion means the event is durably accepted by the
/// transport (the embedded ledger or a confirmed RabbitMQ publish): every subscriber will see it at least once.
/// </summary>
public interface IEventPublisher
{
    Task PublishAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken = default);
}

/// <summary>
/// A transport that can make several events of one topic durable with one broker message (RabbitMQ): the outbox relay
/// sends what it leased together this way. Every event is still handled on its own, with its own retries and dead
/// letter; a batch interrupted by shutdown comes back whole, so its handled events are delivered again (at least once).
/// </summary>
internal interface IBatchEventPublisher : IEventPublisher
{
    /// <summary>The most events one batch may carry.</summary>
    int MaxBatch { get; }

    Task PublishBatchAsync(string topic, IReadOnlyList<CloudEvent> cloudEvents, CancellationToken cancellationToken = default);
}
