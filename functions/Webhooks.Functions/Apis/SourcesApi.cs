using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Service.Sources;

namespace Serverless.Webhooks.Functions.Apis;

/// <param name="Secrets">Write-only: accepted on PUT, never returned.</param>
public sealed record SourceRequest(string? Kind, IReadOnlyList<string>? Secrets, WebhookSourceOptions? Options);

/// <summary>A source as the API shows it: how many secrets it has, never their values.</summary>
public sealed record SourceView(string Name, string Kind, int SecretCount, WebhookSourceOptions Options, bool FromConfiguration, string Url);

/// <summary>/api/webhooks/sources/{name}: inbound sources (kind, secrets, options). Secrets are write-only.</summary>
public static class SourcesApi
{
    public static RouteGroupBuilder MapSourcesApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(WebhooksModule.RoutePrefix + "/sources").WithTags("Webhooks");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("Inbound sources (never their secrets)");
        api.MapGet("/{name}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("One inbound source (never its secrets)");
        api.MapPut("/{name}", PutAsync).RequireAuthorization(Roles.Admin).WithSummary("Create or replace an inbound source");
        api.MapDelete("/{name}", DeleteAsync).RequireAuthorization(Roles.Admin).WithSummary("Delete an inbound source");
        return api;
    }

    private static SourceView View(ActiveSource source) => new(
        source.Definition.Name, source.Definition.Kind, source.Definition.Secrets.Count, source.Definition.Options, source.FromConfiguration,
        $"{WebhooksModule.RoutePrefix}/in/{source.Definition.Name}");

    private static async Task<Ok<SourceView[]>> ListAsync(WebhookSourceStore sources, CancellationToken cancellationToken) =>
        TypedResults.Ok((await sources.ListAsync(cancellationToken).ConfigureAwait(false)).Select(View).ToArray());

    private static async Task<Results<Ok<SourceView>, NotFound>> GetAsync(string name, WebhookSourceStore sources, CancellationToken cancellationToken) =>
        await sources.FindAsync(name, cancellationToken).ConfigureAwait(false) is { } source ? TypedResults.Ok(View(source)) : TypedResults.NotFound();

    private static async Task<Results<Ok<SourceView>, ValidationProblem, ProblemHttpResult>> PutAsync(
        string name, SourceRequest? request, WebhookSourceStore sources, CancellationToken cancellationToken)
    {
        if (sources.IsConfigured(name))
        {
            return TypedResults.Problem(statusCode: 409, title: "Source defined in configuration", detail: $"'{name}' comes from configuration (Webhooks:Sources:{name}); change it there.");
        }

        var source = new WebhookSource(name, request?.Kind ?? string.Empty, request?.Secrets ?? [], request?.Options);
        var problems = await sources.SaveAsync(source, cancellationToken).ConfigureAwait(false);
        if (problems.Count > 0)
        {
            return FieldProblems.ToValidationProblem(problems, p => p.Path, p => p.Message);
        }

        return TypedResults.Ok(View((await sources.FindAsync(name, cancellationToken).ConfigureAwait(false))!));
    }

    private static async Task<Results<NoContent, NotFound, ProblemHttpResult>> DeleteAsync(string name, WebhookSourceStore sources, CancellationToken cancellationToken)
    {
        if (sources.IsConfigured(name))
        {
            return TypedResults.Problem(statusCode: 409, title: "Source defined in configuration", detail: $"'{name}' comes from configuration; remove it there.");
        }

        return await sources.DeleteAsync(name, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : TypedResults.NotFound();
    }
}
