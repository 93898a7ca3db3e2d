namespace Serverless.BuildingBlocks.PubSub;

public abstract class PubSubException(string message, Exception? inner = null) : Exception(message, inner);

public sealed class UnknownTopicException(string topic)
    : PubSubException($"Topic '{topic}' is not declared by any module of this process.")
{
    public string Topic { get; } = topic;
}

public sealed class InvalidTopicNameException(string name)
    : PubSubException($"'{(name.Length > 64 ? name[..61] + "..." : name)}' is not a valid topic or subscription name: use 1-{TopicRegistry.MaxNameLength} characters of a-z, 0-9, '.', '-', '_', starting with a letter or digit.");

/// <summary>A CloudEvent that is not valid JSON or misses a required attribute (id, source, type, specversion 1.0).</summary>
public sealed class MalformedCloudEventException(string problem, Exception? inner = null)
    : PubSubException($"Malformed CloudEvent: {problem}", inner)
{
    public string Problem { get; } = problem;
}

/// <summary>A subscription name that no <c>AddSubscription</c> call in this process registered.</summary>
public sealed class UnknownSubscriptionException(string subscription)
    : PubSubException($"Subscription '{subscription}' is not registered in this process.")
{
    public string Subscription { get; } = subscription;
}

/// <summary>
/// Another delivery of the same event holds the idempotency claim right now (or held it when its process died).
/// Thrown from a handler it makes the event retry with backoff, so it runs once the claim is completed or expires.
/// </summary>
public sealed class EventAlreadyInProgressException(string subscription, string eventId)
    : PubSubException($"Event '{eventId}' is being processed by another delivery of subscription '{subscription}'.")
{
    public string Subscription { get; } = subscription;

    public string EventId { get; } = eventId;
}
