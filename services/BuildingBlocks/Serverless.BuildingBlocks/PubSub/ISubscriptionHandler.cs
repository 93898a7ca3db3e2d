using Azure.Messaging;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// Handles events of one subscription. Delivery is at least once: a handler must be idempotent
/// (see <see cref="IdempotencyExtensions"/>). Throwing makes the event retry with backoff and then dead-letter.
/// </summary>
public interface ISubscriptionHandler
{
    Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken);
}

/// <param name="Attempt">1 for the first try within this delivery, then 2, 3, ... for in-process retries.</param>
/// <param name="Redelivered">True when the transport delivered this event before (a crash or a replay).</param>
public sealed record EventContext(string Topic, string Subscription, int Attempt, bool Redelivered);
