using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.Security;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Functions.Apis;

public sealed record EndpointPage(IReadOnlyList<EndpointView> Items, string? NextCursor);

public sealed record DisableRequest(string? Reason);

/// <summary>/api/webhooks/endpoints: outbound subscribers. The signing secret is shown on create and rotate only.</summary>
public static class EndpointsApi
{
    public static RouteGroupBuilder MapEndpointsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(WebhooksModule.RoutePrefix + "/endpoints").WithTags("Webhooks");
        api.MapPost("/", CreateAsync).RequireAuthorization(Roles.Operator).WithSummary("Register an endpoint; its whsec_ secret is in this response only");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("Endpoints (never their secrets)");
        api.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("One endpoint (never its secret)");
        api.MapPatch("/{id}", PatchAsync).RequireAuthorization(Roles.Operator)
            .WithSummary("Change url, eventTypes, description, rateLimitPerSecond or headers (JSON merge patch: absent = unchanged, null = removed)");
        api.MapDelete("/{id}", DeleteAsync).RequireAuthorization(Roles.Operator).WithSummary("Delete an endpoint");
        api.MapPost("/{id}/rotate-secret", RotateAsync).RequireAuthorization(Roles.Operator).WithSummary("New secret; the old one keeps signing for 24 h");
        api.MapPost("/{id}/enable", EnableAsync).RequireAuthorization(Roles.Operator).WithSummary("Enable an endpoint");
        api.MapPost("/{id}/disable", DisableAsync).RequireAuthorization(Roles.Operator).WithSummary("Disable an endpoint");
        return api;
    }

    private static ValidationProblem Problems(IReadOnlyList<FieldProblem> problems) =>
        FieldProblems.ToValidationProblem(problems, p => p.Path, p => p.Message);

    private static async Task<Results<Created<EndpointWithSecret>, ValidationProblem>> CreateAsync(EndpointRequest? request, EndpointRegistry endpoints, CancellationToken cancellationToken)
    {
        var change = await endpoints.CreateAsync(request ?? new EndpointRequest(null), cancellationToken).ConfigureAwait(false);
        return change.Succeeded
            ? TypedResults.Created($"{WebhooksModule.RoutePrefix}/endpoints/{change.Result!.Endpoint.Id}", change.Result)
            : Problems(change.Problems);
    }

    private static async Task<Results<Ok<EndpointPage>, ValidationProblem>> ListAsync(EndpointRegistry endpoints, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        var (items, next) = await endpoints.ListAsync(limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new EndpointPage(items.Select(EndpointView.From).ToList(), next));
    }

    private static async Task<Results<Ok<EndpointView>, NotFound>> GetAsync(string id, EndpointRegistry endpoints, CancellationToken cancellationToken) =>
        await endpoints.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } endpoint ? TypedResults.Ok(EndpointView.From(endpoint)) : TypedResults.NotFound();

    private static async Task<Results<Ok<EndpointView>, ValidationProblem, NotFound>> PatchAsync(string id, EndpointPatch? patch, EndpointRegistry endpoints, CancellationToken cancellationToken) =>
        await endpoints.UpdateAsync(id, patch ?? new EndpointPatch(), cancellationToken).ConfigureAwait(false) switch
        {
            null => TypedResults.NotFound(),
            { Succeeded: true } change => TypedResults.Ok(change.Result!),
            var change => Problems(change.Problems),
        };

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(string id, EndpointRegistry endpoints, EndpointFailureClock failureClock, CancellationToken cancellationToken)
    {
        if (!await endpoints.DeleteAsync(id, cancellationToken).ConfigureAwait(false))
        {
            return TypedResults.NotFound();
        }

        await failureClock.ResetAsync(id, cancellationToken).ConfigureAwait(false);
        return TypedResults.NoContent();
    }

    private static async Task<Results<Ok<EndpointWithSecret>, NotFound>> RotateAsync(string id, EndpointRegistry endpoints, CancellationToken cancellationToken) =>
        await endpoints.RotateSecretAsync(id, cancellationToken: cancellationToken).ConfigureAwait(false) is { } rotated ? TypedResults.Ok(rotated) : TypedResults.NotFound();

    /// <summary>An endpoint enabled again starts with a fresh failure clock, so it is not disabled again at its first failure.</summary>
    private static async Task<Results<Ok<EndpointView>, NotFound>> EnableAsync(string id, EndpointRegistry endpoints, EndpointFailureClock failureClock, CancellationToken cancellationToken)
    {
        if (await endpoints.SetEnabledAsync(id, true, null, cancellationToken).ConfigureAwait(false) is not { } view)
        {
            return TypedResults.NotFound();
        }

        await failureClock.ResetAsync(id, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(view);
    }

    private static async Task<Results<Ok<EndpointView>, NotFound>> DisableAsync(string id, DisableRequest? request, EndpointRegistry endpoints, CancellationToken cancellationToken) =>
        await endpoints.SetEnabledAsync(id, false, request?.Reason ?? "disabled by an operator", cancellationToken).ConfigureAwait(false) is { } view ? TypedResults.Ok(view) : TypedResults.NotFound();
}
