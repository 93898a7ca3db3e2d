using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;

namespace Serverless.BuildingBlocks.Hosting.Apis;

public sealed record CreateApiKeyRequest(string? Name, string? Role);

/// <summary>/api/keys: create (shown once), list and revoke API keys. Admin only.</summary>
public static class ApiKeysApi
{
    public static RouteGroupBuilder MapApiKeysApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup("/api/keys").WithTags("Platform").RequireAuthorization(Roles.Admin);
        api.MapPost("/", CreateAsync).WithSummary("Create an API key; its value is returned only in this response");
        api.MapGet("/", ListAsync).WithSummary("List API keys (never their values)");
        api.MapDelete("/{id}", RevokeAsync).WithSummary("Revoke an API key");
        return api;
    }

    private static async Task<Results<Created<CreatedApiKey>, ValidationProblem>> CreateAsync(CreateApiKeyRequest? request, ApiKeyStore keys, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request?.Name) || request.Name.Length > 100)
        {
            errors["name"] = ["Give the key a name of 1-100 characters."];
        }

        if (!Roles.TryParse(request?.Role, out var role))
        {
            errors["role"] = ["The role must be 'admin', 'operator', 'pos' or 'viewer'."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var created = await keys.CreateAsync(request!.Name!, role, cancellationToken).ConfigureAwait(false);
        return TypedResults.Created($"/api/keys/{created.Id}", created);
    }

    private static async Task<Ok<ApiKeyView[]>> ListAsync(ApiKeyStore keys, CancellationToken cancellationToken) =>
        TypedResults.Ok((await keys.ListAsync(cancellationToken).ConfigureAwait(false)).Select(ApiKeyView.From).ToArray());

    private static async Task<Results<NoContent, NotFound, ProblemHttpResult>> RevokeAsync(string id, ApiKeyStore keys, CancellationToken cancellationToken) =>
        await keys.RevokeAsync(id, cancellationToken).ConfigureAwait(false) switch
        {
            RevokeOutcome.Revoked => TypedResults.NoContent(),
            RevokeOutcome.LastAdmin => TypedResults.Problem(statusCode: 409, title: "Last admin key", detail: "Create another admin key before revoking the last one."),
            _ => TypedResults.NotFound(),
        };
}
