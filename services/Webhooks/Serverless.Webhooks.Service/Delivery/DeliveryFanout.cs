using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// The queue trigger of outbound delivery: every platform event on a delivered topic becomes one durable delivery
/// per enabled endpoint whose filter matches. Idempotent: a redelivered event finds its deliveries already made.
/// When the dispatcher of this process has a free slot for the endpoint, the delivery is created already claimed and
/// attempted at once; otherwise it is created due and the dispatcher's scan finds it.
/// </summary>
public sealed class DeliveryFanout(EndpointRegistry endpoints, DeliveryBook book, DeliveryRetryPolicy policy, DeliverySignal signal, DeliveryDispatcher dispatcher, TimeProvider time) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        byte[]? json = null;
        var created = false;
        foreach (var endpoint in await endpoints.SubscribersAsync(cancellationToken).ConfigureAwait(false))
        {
            if (endpoint.Filter.Matches(cloudEvent.Type))
            {
                json ??= CloudEventJson.Serialize(cloudEvent);
                var now = time.GetUtcNow();
                var firstAttemptAt = policy.FirstAttemptAt(now);
                if (firstAttemptAt <= now && dispatcher.TryReserve(endpoint.Id))
                {
                    var claimed = await CreateClaimedAsync(endpoint.Id, cloudEvent, json, firstAttemptAt, cancellationToken).ConfigureAwait(false);
                    if (claimed is { } delivery)
                    {
                        dispatcher.RunClaimed(delivery.Record, delivery.LeaseKey);
                    }
                    else
                    {
                        dispatcher.Release(endpoint.Id);
                    }

                    continue;
                }

                created |= await book.CreateAsync(endpoint.Id, cloudEvent, json, firstAttemptAt, cancellationToken).ConfigureAwait(false);
            }
        }

        if (created)
        {
            signal.NotifyNewWork();
        }
    }

    private async Task<(DeliveryRecord Record, string LeaseKey)?> CreateClaimedAsync(string endpointId, CloudEvent cloudEvent, byte[] json, DateTimeOffset firstAttemptAt, CancellationToken cancellationToken)
    {
        try
        {
            return await book.CreateClaimedAsync(endpointId, cloudEvent, json, firstAttemptAt, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            dispatcher.Release(endpointId);
            throw;
        }
    }
}

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
