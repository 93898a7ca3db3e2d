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
