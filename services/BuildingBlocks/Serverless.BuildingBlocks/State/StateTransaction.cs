using Azure.Messaging;

namespace Serverless.BuildingBlocks.State;

/// <summary>A set of writes and outbox events applied all together or not at all.</summary>
public sealed class StateTransaction
{
    private readonly List<StateOperation> _operations = [];
    private readonly List<OutboxEvent> _events = [];

    public IReadOnlyList<StateOperation> Operations => _operations;
    public IReadOnlyList<OutboxEvent> Events => _events;

    public StateTransaction Upsert(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null)
    {
        _operations.Add(new StateOperation.Upsert(key, value, options ?? StateWriteOptions.LastWriteWins));
        return this;
    }

    public StateTransaction Delete(string key, string? etag = null)
    {
        _operations.Add(new StateOperation.Delete(key, etag));
        return this;
    }

    /// <summary>Queues an event that the outbox relay publishes once this transaction commits.</summary>
    public StateTransaction Publish(string topic, CloudEvent cloudEvent)
    {
        _events.Add(new OutboxEvent(topic, cloudEvent));
        return this;
    }
}

public abstract record StateOperation(string Key)
{
    public sealed record Upsert(string Key, ReadOnlyMemory<byte> Value, StateWriteOptions Options) : StateOperation(Key);

    public sealed record Delete(string Key, string? ETag) : StateOperation(Key);
}

public sealed record OutboxEvent(string Topic, CloudEvent Event)
{
    /// <summary>
    /// The outbox row's payload: the structured CloudEvent, with the committing request's trace context. Throws
    /// <see cref="PubSub.UnknownTopicException"/> when <paramref name="topics"/> does not know the topic.
    /// </summary>
    internal byte[] Serialize(PubSub.TopicRegistry? topics)
    {
        if (topics is null)
        {
            PubSub.TopicRegistry.ValidateName(Topic);
        }
        else
        {
            topics.EnsureKnown(Topic);
        }

        PubSub.EventTracing.Inject(Event);
        return PubSub.CloudEventJson.Serialize(Event);
    }
}
