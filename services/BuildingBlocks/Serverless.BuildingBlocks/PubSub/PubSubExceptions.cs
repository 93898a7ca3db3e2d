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
