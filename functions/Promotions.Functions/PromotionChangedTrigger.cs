using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Promotions.Service.Active;

namespace Serverless.Promotions.Functions;

/// <summary>Event trigger on promotion.changed: wake this instance's snapshot refresh (idempotent: it reloads only if the version moved).</summary>
public sealed class PromotionChangedTrigger(ActivePromotions active) : ISubscriptionHandler
{
    public Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        active.Invalidate();
        return Task.CompletedTask;
    }
}
