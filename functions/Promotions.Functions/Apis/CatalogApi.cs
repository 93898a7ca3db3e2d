using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Export;
using Serverless.Promotions.Service.Ledger;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>/api/promotions: definitions, lifecycle, report, settlement and the POS snapshot export.</summary>
public static class CatalogApi
{
    public static RouteGroupBuilder MapCatalogApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(PromotionsModule.RoutePrefix).WithTags("Promotions");
        api.MapGet("/snapshot", Snapshot).RequireAuthorization(Roles.Pos).WithSummary("The active definitions (and coupon batch keys) a store needs, for offline pricing with the same engine (pos role or above: never a viewer key)");
        api.MapGet("/", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("Promotions, optionally by status (?status=Active), with a cursor");
        api.MapPut("/{id}", PutAsync).RequireAuthorization(Roles.Operator).Accepts<PromotionInput>("application/json").WithSummary("Create or change a promotion {definition, budget, funding}");
        api.MapGet("/{id}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("One promotion with its lifecycle state");
        foreach (var (action, target) in new[] { ("schedule", PromotionStatus.Scheduled), ("activate", PromotionStatus.Active), ("pause", PromotionStatus.Paused), ("end", PromotionStatus.Ended) })
        {
            api.MapPost("/{id}/" + action, (string id, PromotionCatalog catalog, CancellationToken ct) => TransitionAsync(id, target, catalog, ct))
                .RequireAuthorization(Roles.Operator).WithSummary($"Move a promotion to {target} (409 when its lifecycle does not allow it)");
        }

        api.MapGet("/{id}/report", ReportAsync).RequireAuthorization(Roles.Viewer).WithSummary("Orders, units, discount given and budget left, by store, channel and day");
        api.MapGet("/{id}/settlement", SettlementAsync).RequireAuthorization(Roles.Viewer).WithSummary("Totals per store and funding party, written after the end plus the grace period");
        return api;
    }

    private static IResult Snapshot(string? store, ActivePromotions active, TimeProvider time)
    {
        if (string.IsNullOrWhiteSpace(store))
        {
            return JsonBody.Invalid("store", "is required");
        }

        // The engine's own JSON (PromotionJson), byte for byte what a POS hands to PromotionSnapshot.Compile.
        return TypedResults.Bytes(StoreSnapshot.For(active.Current, store, time.GetUtcNow()).ToJson(), "application/json");
    }

    private static async Task<IResult> ListAsync(string? status, int? limit, string? cursor, PromotionCatalog catalog, CancellationToken cancellationToken)
    {
        PromotionStatus? parsed = null;
        if (status is not null)
        {
            if (!Enum.TryParse<PromotionStatus>(status, ignoreCase: true, out var value))
            {
                return JsonBody.Invalid("status", $"one of {string.Join(", ", Enum.GetNames<PromotionStatus>())}");
            }

            parsed = value;
        }

        var page = await catalog.ListAsync(parsed, limit ?? 100, cursor, cancellationToken).ConfigureAwait(false);
        return TypedResults.Json(new PromotionPage([.. page.Items.Select(PromotionView.From)], page.NextCursor), PromotionsJsonContext.Default.PromotionPage);
    }

    private static async Task<IResult> PutAsync(string id, HttpRequest request, PromotionCatalog catalog, CancellationToken cancellationToken)
    {
        // The engine's definition requires an id; here the URL carries it, so the body may leave it out.
        var (input, problem) = await JsonBody.ReadAsync(request, PromotionsJsonContext.PromotionInput, cancellationToken, node =>
        {
            if (node is JsonObject { } body && body["definition"] is JsonObject definition && !definition.ContainsKey("id"))
            {
                definition["id"] = id;
            }
        }).ConfigureAwait(false);
        return input is null ? problem! : ToResult(await catalog.PutAsync(id, input, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<IResult> GetAsync(string id, PromotionCatalog catalog, CancellationToken cancellationToken) =>
        await catalog.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } record
            ? TypedResults.Json(PromotionView.From(record), PromotionsJsonContext.Default.PromotionView)
            : TypedResults.NotFound();

    private static async Task<IResult> TransitionAsync(string id, PromotionStatus target, PromotionCatalog catalog, CancellationToken cancellationToken) =>
        ToResult(await catalog.TransitionAsync(id, target, cancellationToken).ConfigureAwait(false));

    private static async Task<IResult> ReportAsync(string id, PromotionCatalog catalog, BudgetLedger ledger, CancellationToken cancellationToken) =>
        await catalog.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } record
            ? TypedResults.Json((await ledger.GetReportAsync(record, cancellationToken).ConfigureAwait(false))!, PromotionsJsonContext.Default.PromotionReport)
            : TypedResults.NotFound();

    private static async Task<IResult> SettlementAsync(string id, PromotionCatalog catalog, CancellationToken cancellationToken)
    {
        if (await catalog.GetSettlementAsync(id, cancellationToken).ConfigureAwait(false) is { } settlement)
        {
            return TypedResults.Json(settlement, PromotionsJsonContext.Default.PromotionSettlement);
        }

        // A promotion that exists but is not settled yet says when it will be, instead of a bare 404. One the timer settled
        // between the two reads has its statement now (written in the same transaction as the status).
        return await catalog.GetAsync(id, cancellationToken).ConfigureAwait(false) switch
        {
            null => TypedResults.NotFound(),
            { Status: PromotionStatus.Settled } when await catalog.GetSettlementAsync(id, cancellationToken).ConfigureAwait(false) is { } settled =>
                TypedResults.Json(settled, PromotionsJsonContext.Default.PromotionSettlement),
            var record => TypedResults.Problem(catalog.NotSettledYet(record), statusCode: StatusCodes.Status404NotFound, title: "Not settled yet"),
        };
    }

    private static IResult ToResult(CatalogOutcome outcome) => outcome.Kind switch
    {
        CatalogOutcomeKind.Created => TypedResults.Json(PromotionView.From(outcome.Record!), PromotionsJsonContext.Default.PromotionView, statusCode: StatusCodes.Status201Created),
        CatalogOutcomeKind.Ok => TypedResults.Json(PromotionView.From(outcome.Record!), PromotionsJsonContext.Default.PromotionView),
        CatalogOutcomeKind.Invalid => FieldProblems.ToValidationProblem(outcome.Problems!, p => p.Path, p => p.Message),
        CatalogOutcomeKind.NotFound => TypedResults.NotFound(),
        _ => TypedResults.Problem(outcome.Message, statusCode: StatusCodes.Status409Conflict, title: "The promotion's lifecycle does not allow this"),
    };
}
