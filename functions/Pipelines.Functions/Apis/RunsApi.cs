using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Pipelines.Graphs;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Functions.Apis;

public sealed record RunView(
    string RunId,
    string Pipeline,
    int Version,
    RunStatus Status,
    bool CancelRequested,
    int Generation,
    DateTimeOffset CreatedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    IReadOnlyDictionary<string, object?> Parameters,
    IReadOnlyDictionary<string, object?> Trigger,
    IReadOnlyList<StepView> Steps)
{
    public static RunView From(RunRecord run)
    {
        var state = run.State;
        var steps = run.Definition.AllSteps.Select(s => StepView.From(s.Kind, run.Definition.IsFinally(s.Id), state.Steps[s.Id])).ToList();
        return new(run.RunId, run.Pipeline, run.Version, state.Status, state.CancelRequested, state.Generation, state.CreatedAt, state.StartedAt, state.FinishedAt, state.Parameters, state.Trigger, steps);
    }
}

public sealed record StepView(string Id, string Kind, bool Finally, StepStatus Status, string? Reason, IReadOnlyDictionary<string, string> Outputs, IReadOnlyList<StepAttempt> Attempts, IReadOnlyList<ApprovalVote> Votes)
{
    public static StepView From(string kind, bool isFinally, StepRun run) => new(run.StepId, kind, isFinally, run.DisplayStatus, run.Reason, run.Outputs, run.Attempts, run.Votes);
}

/// <summary>Body of approve/reject (optional): a comment; <c>By</c>, when given, must be the caller's API key name.</summary>
public sealed record ApprovalRequest(string? By, string? Comment);

/// <summary>/api/runs/{id}: a run's state, graph and logs; cancel, retry, rerun, approve and reject.</summary>
public static class RunsApi
{
    public static RouteGroupBuilder MapRunsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(PipelinesModule.RunsPrefix).WithTags("Pipelines");
        api.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("A run: status, parameters, trigger, every step with its attempts");
        api.MapGet("/{id}/graph", GraphAsync).RequireAuthorization(Roles.Viewer).WithSummary("Nodes and edges coloured by state; ?format=mermaid for a Mermaid flowchart");
        api.MapGet("/{id}/steps/{step}/log", LogAsync).RequireAuthorization(Roles.Viewer).WithSummary("A step's log as text (?attempt=, ?follow=true streams until the attempt ends)");
        api.MapPost("/{id}/cancel", (string id, RunStore runs, TimeProvider time, HttpContext http, CancellationToken ct) => ApplyAsync(id, new CancelRequested(time.GetUtcNow()) { By = http.User.Identity?.Name }, runs, ct))
            .RequireAuthorization(Roles.Operator).WithSummary("Cancel: running steps are stopped, then finally steps run");
        api.MapPost("/{id}/retry", (string id, RunStore runs, TimeProvider time, CancellationToken ct) => ApplyAsync(id, new RetryRequested(time.GetUtcNow()), runs, ct))
            .RequireAuthorization(Roles.Operator).WithSummary("Run failed and cancelled steps again, with everything downstream");
        api.MapPost("/{id}/rerun", RerunAsync)
            .RequireAuthorization(Roles.Operator).WithSummary("Run ?from={step} and everything downstream again");
        api.MapPost("/{id}/steps/{step}/approve", (string id, string step, ApprovalRequest? request, HttpContext http, RunStore runs, TimeProvider time, CancellationToken ct) => DecideAsync(id, step, request, true, http, runs, time, ct))
            .RequireAuthorization(Roles.Operator).WithSummary("Approve an approval step as the caller (the API key's name) {comment}");
        api.MapPost("/{id}/steps/{step}/reject", (string id, string step, ApprovalRequest? request, HttpContext http, RunStore runs, TimeProvider time, CancellationToken ct) => DecideAsync(id, step, request, false, http, runs, time, ct))
            .RequireAuthorization(Roles.Operator).WithSummary("Reject an approval step as the caller (the API key's name) {comment}");
        return api;
    }

    private static async Task<Results<Ok<RunView>, NotFound>> GetAsync(string id, RunStore runs, CancellationToken cancellationToken) =>
        await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } run ? TypedResults.Ok(RunView.From(run)) : TypedResults.NotFound();

    private static async Task<IResult> GraphAsync(string id, string? format, RunStore runs, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } run)
        {
            return TypedResults.NotFound();
        }

        var graph = PipelineGraph.From(run.Definition, run.State);
        return string.Equals(format, "mermaid", StringComparison.OrdinalIgnoreCase) ? TypedResults.Text(graph.ToMermaid(), "text/plain; charset=utf-8") : TypedResults.Ok(graph);
    }

    private static async Task<IResult> LogAsync(string id, string step, int? attempt, bool? follow, HttpContext http, RunStore runs, StepLogStore logs, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } run || !run.State.Steps.TryGetValue(step, out var stepRun))
        {
            return TypedResults.NotFound();
        }

        if (attempt is { } asked && !stepRun.Attempts.Any(a => a.Number == asked))
        {
            return TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "No such attempt",
                detail: string.Create(CultureInfo.InvariantCulture, $"step '{step}' of run {id} has no attempt {asked} (attempts: {(stepRun.Attempts.IsEmpty ? "none yet" : string.Join(", ", stepRun.Attempts.Select(a => a.Number)))})"));
        }

        var number = attempt ?? stepRun.CurrentAttempt?.Number ?? 1;
        if (follow != true)
        {
            var (text, _) = await logs.ReadAsync(id, step, number, 0, cancellationToken).ConfigureAwait(false);
            return TypedResults.Text(text, "text/plain; charset=utf-8");
        }

        // Stream until the attempt has ended, then read once more: the runner's last chunk lands before its report.
        http.Response.ContentType = "text/plain; charset=utf-8";
        var next = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            var current = await runs.GetAsync(id, cancellationToken).ConfigureAwait(false);
            var finished = current is null || current.State.Steps[step].Attempts.FirstOrDefault(a => a.Number == number) is not { } a ? current?.State.Status.IsTerminal() ?? true : a.IsFinished;
            var (text, after) = await logs.ReadAsync(id, step, number, next, cancellationToken).ConfigureAwait(false);
            next = after;
            if (text.Length > 0)
            {
                await http.Response.WriteAsync(text, cancellationToken).ConfigureAwait(false);
                await http.Response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (finished)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken).ConfigureAwait(false);
        }

        return TypedResults.Empty;
    }

    /// <summary>
    /// The decision is the caller's: the approver is the name of the API key that sends it (approvers are listed by key
    /// name), so nobody can approve as someone else. <c>by</c> in the body is optional and, when given, must be that name.
    /// </summary>
    private static async Task<IResult> DecideAsync(string id, string step, ApprovalRequest? request, bool approved, HttpContext http, RunStore runs, TimeProvider time, CancellationToken cancellationToken)
    {
        var caller = http.User.Identity?.Name;
        if (string.IsNullOrEmpty(caller))
        {
            return TypedResults.Problem(statusCode: 403, title: "No identity", detail: "Approvals are recorded under the caller's API key name; this caller has none.");
        }

        if (!string.IsNullOrWhiteSpace(request?.By) && !string.Equals(request.By, caller, StringComparison.Ordinal))
        {
            return TypedResults.Problem(
                statusCode: 403,
                title: "Deciding for someone else",
                detail: $"Decisions are recorded as the caller's API key name ('{caller}'); 'by' may only repeat it. {request.By} decides with their own key.");
        }

        if (await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } run && run.Definition.FindStep(step) is null)
        {
            // A step the run does not have is not found (as for its log); a step that is not an approval step stays a 409.
            return TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such step", detail: $"run {id} (version {run.Version}) has no step '{step}'");
        }

        return await ApplyAsync(id, new ApprovalDecided(step, caller, approved, time.GetUtcNow()) { Comment = request?.Comment }, runs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A step the run's pipeline version does not have is the caller's mistake (400 keyed from), not a conflict.</summary>
    private static async Task<IResult> RerunAsync(string id, string from, RunStore runs, TimeProvider time, CancellationToken cancellationToken)
    {
        if (await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } run && run.Definition.FindStep(from) is null)
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["from"] = [$"run {id} (version {run.Version}) has no step '{from}'"] });
        }

        return await ApplyAsync(id, new RerunRequested(from, time.GetUtcNow()), runs, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>202 with the run; 409 problem saying why when the state machine ignored the request.</summary>
    private static async Task<IResult> ApplyAsync(string id, RunEvent runEvent, RunStore runs, CancellationToken cancellationToken)
    {
        var transition = await runs.ApplyAsync(id, runEvent, null, cancellationToken).ConfigureAwait(false);
        if (transition is null || await runs.GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } run)
        {
            return TypedResults.NotFound();
        }

        return transition.Ignored
            ? TypedResults.Problem(title: "The run did not change", detail: transition.IgnoredBecause, statusCode: StatusCodes.Status409Conflict)
            : TypedResults.Accepted(string.Create(CultureInfo.InvariantCulture, $"{PipelinesModule.RunsPrefix}/{id}"), RunView.From(run));
    }
}
