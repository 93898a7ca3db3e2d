using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Security;

namespace Serverless.BuildingBlocks.Hosting.Apis;

public sealed record TopicView(string Name, string? Description, string[] Subscriptions);

public sealed record PublishedEvent(string Id, string Topic);

/// <summary>/api/topics and /api/events/{topic}: see the topics and publish a structured CloudEvent by hand.</summary>
public static class EventsApi
{
    /// <summary>Structured CloudEvents larger than this are refused (the transports' documented limit).</summary>
    public const int MaxEventBytes = 256 * 1024;

    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder routes)
    {
        routes.MapGet("/api/topics", (TopicRegistry registry) => TypedResults.Ok(registry.Topics
                .Select(t => new TopicView(t.Name, t.Description, registry.SubscriptionsOf(t.Name).Select(s => s.Name).ToArray()))
                .ToArray()))
            .WithTags("Platform").RequireAuthorization(Roles.Viewer).WithSummary("Topics and their subscriptions");

        routes.MapPost("/api/events/{topic}", PublishAsync)
            .WithTags("Platform").RequireAuthorization(Roles.Operator)
            .Accepts<object>(CloudEventJson.MediaType, "application/json")
            .WithSummary("Publish a structured CloudEvent 1.0 to a topic; 202 once it is durably accepted");
        return routes;
    }

    private static async Task<Results<Accepted<PublishedEvent>, ProblemHttpResult>> PublishAsync(
        string topic, HttpRequest request, TopicRegistry registry, IEventPublisher publisher, CancellationToken cancellationToken)
    {
        registry.EnsureKnown(topic);
        var mediaType = request.ContentType?.Split(';')[0].Trim();
        if (mediaType is not (CloudEventJson.MediaType or "application/json"))
        {
            return TypedResults.Problem(statusCode: 415, title: "Unsupported media type", detail: $"Send the event as {CloudEventJson.MediaType}.");
        }

        if (request.ContentLength > MaxEventBytes)
        {
            return TypedResults.Problem(statusCode: 413, title: "Event too large", detail: $"An event may be at most {MaxEventBytes} bytes.");
        }

        using var buffer = new MemoryStream();
        await request.Body.CopyToAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (buffer.Length > MaxEventBytes)
        {
            return TypedResults.Problem(statusCode: 413, title: "Event too large", detail: $"An event may be at most {MaxEventBytes} bytes.");
        }

        var cloudEvent = CloudEventJson.Parse(buffer.ToArray());
        EventTracing.Inject(cloudEvent);
        await publisher.PublishAsync(topic, cloudEvent, cancellationToken).ConfigureAwait(false);
        return TypedResults.Accepted((string?)null, new PublishedEvent(cloudEvent.Id, topic));
    }
}
