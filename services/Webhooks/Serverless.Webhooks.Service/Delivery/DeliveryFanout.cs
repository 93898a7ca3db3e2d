using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// The queue trigger of outbound delivery: every platform event on a delivered topic becomes one durable delivery
/// per enabled endpoint whose filter matches, all of them in one state transaction. Idempotent: a redelivered event
/// finds its deliveries already made (the shared transaction then fails and each is created on its own, so the ones
/// missing after a crash between two earlier creates still appear). When the dispatcher of this process has a free
/// slot for an endpoint, that delivery is created already claimed and attempted at once; when the endpoint's slots are
/// busy it is created claimed and queued in memory behind them (up to <see cref="DeliveryDispatcher.MaxWaiting"/>);
/// otherwise it is created due and the dispatcher's scan finds it.
/// </summary>
public sealed class DeliveryFanout(EndpointRegistry endpoints, DeliveryBook book, DeliveryRetryPolicy policy, DeliverySignal signal, DeliveryDispatcher dispatcher, TimeProvider time) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var matching = (await endpoints.SubscribersAsync(cancellationToken).ConfigureAwait(false)).Where(e => e.Filter.Matches(cloudEvent.Type)).Select(e => e.Id).ToList();
        if (matching.Count == 0)
        {
            return;
        }

        var json = CloudEventJson.Serialize(cloudEvent);
        var now = time.GetUtcNow();
        var firstAttemptAt = policy.FirstAttemptAt(now);
        // Per endpoint: a free slot (created claimed, attempted at once), else a place in the in-memory queue behind the
        // endpoint's attempts (created claimed, attempted when a slot frees), else created due for the dispatcher's scan.
        var holds = matching.Select(id => firstAttemptAt > now ? Hold.None
            : dispatcher.TryReserve(id) ? Hold.Slot
            : dispatcher.TryReserveWaiting(json.Length) ? Hold.Queue
            : Hold.None).ToList();
        var plan = matching.Select((id, i) => new PlannedDelivery(id, holds[i] != Hold.None)).ToList();
        IReadOnlyList<CreatedDelivery>? created;
        try
        {
            created = await book.CreateAllAsync(plan, cloudEvent, json, firstAttemptAt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            Release(matching, holds, json.Length);
            throw;
        }

        if (created is null)
        {
            // Some existed already (a redelivered event): make each on its own, the existing ones are skipped.
            Release(matching, holds, json.Length);
            var any = false;
            foreach (var endpointId in matching)
            {
                any |= await book.CreateAsync(endpointId, cloudEvent, json, firstAttemptAt, cancellationToken).ConfigureAwait(false);
            }

            if (any)
            {
                signal.NotifyNewWork();
            }

            return;
        }

        for (var i = 0; i < created.Count; i++)
        {
            switch (holds[i])
            {
                case Hold.Slot:
                    dispatcher.RunClaimed(created[i].Record, created[i].DueKey);
                    break;
                case Hold.Queue:
                    dispatcher.EnqueueClaimed(created[i].Record, created[i].DueKey);
                    break;
            }
        }

        if (holds.Contains(Hold.None))
        {
            signal.NotifyNewWork();
        }
    }

    private void Release(List<string> endpointIds, List<Hold> holds, int payloadBytes)
    {
        for (var i = 0; i < endpointIds.Count; i++)
        {
            switch (holds[i])
            {
                case Hold.Slot:
                    dispatcher.Release(endpointIds[i]);
                    break;
                case Hold.Queue:
                    dispatcher.ReleaseWaiting(payloadBytes);
                    break;
            }
        }
    }

    /// <summary>What this process holds for one endpoint's delivery of the event.</summary>
    private enum Hold
    {
        None,
        Slot,
        Queue,
    }
}

/// <summary>A delivery to make: to which endpoint, and whether it is created claimed (the caller holds a dispatcher slot or queue place for it).</summary>
public sealed record PlannedDelivery(string EndpointId, bool Claimed);

/// <summary>A delivery made: its record and due entry (the lease when it was created claimed).</summary>
public sealed record CreatedDelivery(DeliveryRecord Record, string DueKey, bool Claimed);

/// <summary>Wakes the delivery dispatcher when this process created or re-queued deliveries, or finished one.</summary>
public sealed class DeliverySignal : WakeSignal
{
    private long _newWork;

    /// <summary>How many times new or re-queued deliveries were announced (the dispatcher rescans when it moved).</summary>
    public long NewWork => Interlocked.Read(ref _newWork);

    /// <summary>Deliveries were created or put back on the schedule: the dispatcher should look for them.</summary>
    public void NotifyNewWork()
    {
        Interlocked.Increment(ref _newWork);
        Notify();
    }
}
