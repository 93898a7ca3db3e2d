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
/// What the embedded profile puts on a subscription's in-memory queue: the events one ledger commit
/// produced for that subscription. One MassTransit message per event costs more than the rest of the
/// pipeline together; a batch spreads that cost over up to a few hundred events.
/// </summary>
public sealed record EventBatch
{
#pragma warning disable CA1819 // A wire DTO: the serializer needs the array, nothing mutates it.
    public EventEnvelope[] Events { get; init; } = [];
#pragma warning restore CA1819
}
