using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Security;

namespace Serverless.BuildingBlocks.Hosting.Apis;

/// <summary>
/// /api/deadletters: events a subscription gave up on, and committed events the outbox could not publish
/// (subscription <c>$outbox</c>) — list, inspect, replay (to that subscription; an outbox one to its topic), discard.
/// </summary>
public static class DeadLettersApi
{
    public static RouteGroupBuilder MapDeadLettersApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/deadletters").WithTags("Platform");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("Dead letters, oldest first, optionally of one subscription");
        api.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("One dead letter with its event and last error");
        api.MapPost("/{id}/replay", ReplayAsync).RequireAuthorization(Roles.Operator).WithSummary("Deliver the event again to the subscription that gave up on it");
        api.MapDelete("/{id}", DeleteAsync).RequireAuthorization(Roles.Operator).WithSummary("Discard a dead letter");
        return api;
    }

    private static async Task<Results<Ok<DeadLetterPage>, ValidationProblem>> ListAsync(IDeadLetterQueue deadLetters, string? subscription, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        try
        {
            return TypedResults.Ok(await deadLetters.ListAsync(subscription, limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false));
        }
        catch (InvalidTopicNameException ex)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["subscription"] = [ex.Message] });
        }
    }

    private static async Task<Results<Ok<DeadLetter>, NotFound>> GetAsync(string id, IDeadLetterQueue deadLetters, CancellationToken cancellationToken) =>
        await deadLetters.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } deadLetter ? TypedResults.Ok(deadLetter) : TypedResults.NotFound();

    private static async Task<Results<Accepted, NotFound, ProblemHttpResult>> ReplayAsync(string id, IDeadLetterQueue deadLetters, CancellationToken cancellationToken)
    {
        try
        {
            return await deadLetters.ReplayAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.Accepted((string?)null) : TypedResults.NotFound();
        }
        catch (UnknownSubscriptionException ex)
        {
            return TypedResults.Problem(statusCode: 409, title: "Subscription not in this process", detail: ex.Message);
        }
        catch (UnknownTopicException ex)
        {
            return TypedResults.Problem(statusCode: 409, title: "Topic not in this process", detail: ex.Message);
        }
        catch (Exception ex) when (ex is MalformedCloudEventException or InvalidTopicNameException)
        {
            return TypedResults.Problem(statusCode: 422, title: "It can never be published; it can only be deleted", detail: ex.Message);
        }
    }

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(string id, IDeadLetterQueue deadLetters, CancellationToken cancellationToken) =>
        await deadLetters.DeleteAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : TypedResults.NotFound();
}
