using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Functions.Apis;

public sealed record EventTypeList(IReadOnlyList<DeliverableEventType> Items);

/// <summary>/api/webhooks/event-types: what outbound endpoints can subscribe to (an event catalogue, as in Svix).</summary>
public static class EventTypesApi
{
    public static RouteHandlerBuilder MapEventTypesApi(this IEndpointRouteBuilder routes) =>
        routes.MapGet(WebhooksModule.RoutePrefix + "/event-types", List)
            .WithTags("Webhooks").RequireAuthorization(Roles.Viewer)
            .WithSummary("The event types delivered to endpoints (exact, prefix.* families, or * for a topic of any type), each with its topic");

    private static Ok<EventTypeList> List(EventTypeCatalogue catalogue) => TypedResults.Ok(new EventTypeList(catalogue.Entries));
}
