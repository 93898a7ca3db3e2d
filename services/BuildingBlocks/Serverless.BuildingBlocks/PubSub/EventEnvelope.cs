namespace Serverless.BuildingBlocks.PubSub.Transport;

/// <summary>
/// The message MassTransit carries for every event: the topic and the structured CloudEvent JSON
/// (<see cref="CloudEventJson"/>), kept as bytes so the event reaches the handler exactly as it was published.
/// </summary>
/// <remarks>Public and in a namespace because MassTransit derives its message type name from it.</remarks>
public sealed record EventEnvelope
{
    public string Topic { get; init; } = string.Empty;

#pragma warning disable CA1819 // A wire DTO: the serializer needs the array, nothing mutates it.
    public byte[] CloudEvent { get; init; } = [];
#pragma warning restore CA1819

    /// <summary>The embedded ledger row this delivery settles once handled (0 on RabbitMQ).</summary>
    public long LedgerId { get; init; }

    /// <summary>Set when the platform delivers the event again (restart recovery, dead-letter replay).</summary>
    public bool Redelivered { get; init; }
}

/// <summary>
/// Events that travel together as one message: on RabbitMQ the events the outbox relay leased together for a topic;
/// on the embedded profile the events one ledger commit produced for a subscription (handed over by
/// <see cref="EventBatchToken"/>). One MassTransit message per event costs more than the rest of the pipeline
/// together; a batch spreads that cost over up to a few hundred events.
/// </summary>
public sealed record EventBatch
{
#pragma warning disable CA1819 // A wire DTO: the serializer needs the array, nothing mutates it.
    public EventEnvelope[] Events { get; init; } = [];
#pragma warning restore CA1819
}

/// <summary>
/// What the embedded profile puts on a subscription's in-memory queue: a token for an <see cref="EventBatch"/> the
/// process holds until the queue's consumer takes it. MassTransit's in-memory transport serialises every message as a
/// broker transport does; the events never leave the process, so only the token is serialised, not the events and
/// their base64-encoded CloudEvent bytes (about 4 % of the host's CPU under embedded inbound webhooks).
/// </summary>
public sealed record EventBatchToken
{
    public long Token { get; init; }
}
