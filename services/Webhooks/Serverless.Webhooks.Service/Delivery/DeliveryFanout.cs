using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// The queue trigger of outbound delivery: every platform event on a delivered topic becomes one durable delivery
/// per enabled endpoint whose filter matches. Idempotent: a redelivered event finds its deliveries already made.
/// </summary>
public sealed class DeliveryFanout(EndpointRegistry endpoints, DeliveryBook book, DeliveryRetryPolicy policy, DeliverySignal signal, TimeProvider time) : ISubscriptionHandler
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
                created |= await book.CreateAsync(endpoint.Id, cloudEvent, json, policy.FirstAttemptAt(time.GetUtcNow()), cancellationToken).ConfigureAwait(false);
            }
        }

        if (created)
        {
            signal.Notify();
        }
    }
}

/// <summary>Wakes the delivery dispatcher when this process created or re-queued deliveries, or finished one.</summary>
public sealed class DeliverySignal : WakeSignal;
