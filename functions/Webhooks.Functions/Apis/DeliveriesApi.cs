using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.Security;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Functions.Apis;

public sealed record AttemptPage(IReadOnlyList<DeliveryAttempt> Items, string? NextCursor);

public sealed record Recovered(int Requeued);

public sealed record DeliveryPage(IReadOnlyList<DeliveryView> Items, string? NextCursor);

/// <summary>Outbound deliveries: an endpoint's attempts log, one delivery, retrying a failed one, recovering an endpoint.</summary>
public static class DeliveriesApi
{
    public static IEndpointRouteBuilder MapDeliveriesApi(this IEndpointRouteBuilder routes)
    {
        var endpoints = routes.MapGroup(WebhooksModule.RoutePrefix + "/endpoints").WithTags("Webhooks");
        endpoints.MapGet("/{id}/attempts", AttemptsAsync).RequireAuthorization(Roles.Viewer).WithSummary("Attempts to this endpoint, oldest first (status, duration, first 4 KiB of the response)");
        endpoints.MapGet("/{id}/deliveries", DeliveriesAsync).RequireAuthorization(Roles.Viewer).WithSummary("An endpoint's failed deliveries (status=failed), each retryable");
        endpoints.MapPost("/{id}/recover", RecoverAsync).RequireAuthorization(Roles.Operator).WithSummary("Re-queue every failed delivery since a time");
        var deliveries = routes.MapGroup(WebhooksModule.RoutePrefix + "/deliveries").WithTags("Webhooks");
        deliveries.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("One delivery");
        deliveries.MapPost("/{id}/retry", RetryAsync).RequireAuthorization(Roles.Operator).WithSummary("Retry a failed delivery with a fresh series of attempts");
        return routes;
    }

    private static async Task<Results<Ok<AttemptPage>, NotFound, ValidationProblem>> AttemptsAsync(string id, int? limit, string? cursor, EndpointRegistry registry, DeliveryBook book, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        if (await registry.GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            return TypedResults.NotFound();
        }

        var (items, next) = await book.AttemptsAsync(id, limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new AttemptPage(items, next));
    }

    private static async Task<Results<Ok<DeliveryPage>, NotFound, ValidationProblem>> DeliveriesAsync(
        string id, string? status, int? limit, string? cursor, EndpointRegistry registry, DeliveryBook book, CancellationToken cancellationToken)
    {
        if (status != "failed")
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = ["Only status=failed is listed (pending and delivered deliveries are seen in the attempts log)."] });
        }

        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        if (await registry.GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            return TypedResults.NotFound();
        }

        var (items, next) = await book.FailedAsync(id, limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new DeliveryPage(items.Select(DeliveryView.From).ToList(), next));
    }

    private static async Task<Results<Ok<Recovered>, NotFound, ValidationProblem>> RecoverAsync(string id, DateTimeOffset? since, EndpointRegistry registry, DeliveryBook book, DeliverySignal signal, CancellationToken cancellationToken)
    {
        if (since is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["since"] = ["Give the time (ISO 8601) from which failed deliveries are re-queued."] });
        }

        if (await registry.GetAsync(id, cancellationToken).ConfigureAwait(false) is null)
        {
            return TypedResults.NotFound();
        }

        var count = await book.RecoverAsync(id, since.Value, cancellationToken).ConfigureAwait(false);
        signal.NotifyNewWork();
        return TypedResults.Ok(new Recovered(count));
    }

    private static async Task<Results<Ok<DeliveryView>, NotFound>> GetAsync(string id, DeliveryBook book, CancellationToken cancellationToken) =>
        await book.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } delivery ? TypedResults.Ok(DeliveryView.From(delivery)) : TypedResults.NotFound();

    private static async Task<Results<Accepted, NotFound>> RetryAsync(string id, DeliveryBook book, DeliverySignal signal, CancellationToken cancellationToken)
    {
        if (!await book.RetryAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return TypedResults.NotFound();
        }

        signal.NotifyNewWork();
        return TypedResults.Accepted((string?)null);
    }
}
