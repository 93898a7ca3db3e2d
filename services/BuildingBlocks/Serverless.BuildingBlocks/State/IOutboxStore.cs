namespace Serverless.BuildingBlocks.State;

/// <summary>
/// The outbox half of a state store: events queued by <see cref="StateTransaction.Publish"/> wait here
/// until the relay has handed them to pub/sub. Leases let several relays (one per instance) share the work.
/// </summary>
public interface IOutboxStore
{
    /// <summary>Takes up to <paramref name="max"/> messages that nobody holds, oldest first, for <paramref name="leaseFor"/>.</summary>
    Task<IReadOnlyList<OutboxMessage>> LeaseAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken = default);

    /// <summary>Removes messages that were published.</summary>
    Task CompleteAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);

    /// <summary>Ends the leases of messages this relay will not publish after all (it is stopping): any relay may take them now.</summary>
    Task ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default);

    /// <summary>How many messages wait (for /readyz and metrics).</summary>
    Task<long> CountAsync(CancellationToken cancellationToken = default);
}

public sealed record OutboxMessage(long Id, string Topic, ReadOnlyMemory<byte> CloudEventJson, DateTimeOffset CreatedAt);
