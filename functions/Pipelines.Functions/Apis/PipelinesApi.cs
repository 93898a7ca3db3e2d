using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.Security;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Functions.Apis;

public sealed record PipelineView(string Name, int Version, string Format, DateTimeOffset SavedAt, string Source, PipelineDefinition Definition)
{
    public static PipelineView From(StoredPipeline stored) => new(stored.Name, stored.Version, stored.Format, stored.SavedAt, stored.Source, stored.Definition);
}

public sealed record PipelineSaved(string Name, int Version, DateTimeOffset SavedAt);

public sealed record PipelinePage(IReadOnlyList<PipelineHead> Items, string? NextCursor);

/// <param name="Parameters">Values by parameter name: strings, numbers or booleans.</param>
public sealed record StartRunRequest(IReadOnlyDictionary<string, JsonElement>? Parameters);

public sealed record RunStarted(string RunId, string Status);

public sealed record RunPage(IReadOnlyList<RunSummary> Items, string? NextCursor);

/// <summary>/api/pipelines: definitions (every save a new version) and starting and listing their runs.</summary>
public static class PipelinesApi
{
    public static RouteGroupBuilder MapPipelinesApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(PipelinesModule.RoutePrefix).WithTags("Pipelines");
        api.MapPut("/{name}", SaveAsync).RequireAuthorization(Roles.Operator).WithSummary("Save a new version (YAML, or JSON with a JSON content type); 400 lists every problem by path");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("Pipelines and their latest version");
        api.MapGet("/{name}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("The latest version, or ?version=");
        api.MapDelete("/{name}", DeleteAsync).RequireAuthorization(Roles.Operator).WithSummary("Delete a pipeline and all its versions (runs keep their copy)");
        api.MapPost("/{name}/runs", StartAsync).RequireAuthorization(Roles.Operator).WithSummary("Start a run with {parameters}; 202 {runId}");
        api.MapGet("/{name}/runs", ListRunsAsync).RequireAuthorization(Roles.Viewer).WithSummary("Runs, newest first (?status=&limit=&cursor=)");
        return api;
    }

    private static async Task<Results<Ok<PipelineSaved>, ValidationProblem>> SaveAsync(string name, HttpRequest request, DefinitionStore definitions, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        var format = request.ContentType?.Contains("json", StringComparison.OrdinalIgnoreCase) == true ? PipelineFormat.Json : PipelineFormat.Yaml;
        var result = await definitions.SaveAsync(name, text, format, cancellationToken).ConfigureAwait(false);
        return result.Succeeded
            ? TypedResults.Ok(new PipelineSaved(result.Saved!.Name, result.Saved.Version, result.Saved.SavedAt))
            : PipelineProblems.ToValidationProblem(result.Problems);
    }

    private static async Task<Results<Ok<PipelinePage>, ValidationProblem>> ListAsync(DefinitionStore definitions, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        var (items, next) = await definitions.ListAsync(limit ?? 100, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Ok(new PipelinePage(items, next));
    }

    private static async Task<Results<Ok<PipelineView>, NotFound>> GetAsync(string name, int? version, DefinitionStore definitions, CancellationToken cancellationToken) =>
        await definitions.GetAsync(name, version, cancellationToken).ConfigureAwait(false) is { } stored ? TypedResults.Ok(PipelineView.From(stored)) : TypedResults.NotFound();

    private static async Task<Results<NoContent, NotFound>> DeleteAsync(string name, DefinitionStore definitions, CancellationToken cancellationToken) =>
        await definitions.DeleteAsync(name, cancellationToken).ConfigureAwait(false) ? TypedResults.NoContent() : TypedResults.NotFound();

    private static async Task<Results<Accepted<RunStarted>, ValidationProblem, NotFound>> StartAsync(string name, StartRunRequest? request, HttpContext http, DefinitionStore definitions, RunStore runs, CancellationToken cancellationToken)
    {
        if (await definitions.GetAsync(name, null, cancellationToken).ConfigureAwait(false) is not { } pipeline)
        {
            return TypedResults.NotFound();
        }

        var given = (request?.Parameters ?? new Dictionary<string, JsonElement>()).ToDictionary(
            p => p.Key,
            p => p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => p.Value.GetRawText(),
            },
            StringComparer.Ordinal);
        var trigger = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["kind"] = "manual",
            ["actor"] = http.User.Identity?.Name,
        };
        var started = await runs.StartAsync(pipeline, given, trigger, null, cancellationToken).ConfigureAwait(false);
        return started.Succeeded
            ? TypedResults.Accepted($"{PipelinesModule.RunsPrefix}/{started.Run!.RunId}", new RunStarted(started.Run.RunId, started.Run.State.Status.ToString()))
            : PipelineProblems.ToValidationProblem(started.Problems);
    }

    /// <summary>Runs of a pipeline, also of a deleted one while its runs are kept; 404 when there is neither.</summary>
    private static async Task<Results<Ok<RunPage>, ValidationProblem, NotFound>> ListRunsAsync(string name, string? status, int? limit, string? cursor, RunStore runs, DefinitionStore definitions, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        RunStatus? filter = null;
        if (!string.IsNullOrEmpty(status))
        {
            if (!Enum.TryParse<RunStatus>(status, ignoreCase: true, out var parsed) || int.TryParse(status, out _))
            {
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["status"] = [$"'{status}' is not one of {string.Join(", ", Enum.GetNames<RunStatus>())}"] });
            }

            filter = parsed;
        }

        var (items, next) = await runs.ListAsync(name, filter, limit ?? 50, cursor, cancellationToken).ConfigureAwait(false);
        if (items.Count == 0 && cursor is null && filter is null && await definitions.GetAsync(name, null, cancellationToken).ConfigureAwait(false) is null)
        {
            return TypedResults.NotFound();
        }

        return TypedResults.Ok(new RunPage(items, next));
    }
}
