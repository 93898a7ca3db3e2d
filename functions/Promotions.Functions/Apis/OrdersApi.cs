using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Promotions.Service.Ledger;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>/api/promotions/orders: commit an order's promotions against their budgets (idempotent by order id), cancel or return.</summary>
public static class OrdersApi
{
    public static RouteGroupBuilder MapOrdersApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(PromotionsModule.RoutePrefix + "/orders").WithTags("Promotions");
        api.MapPost("/", CommitAsync).RequireAuthorization(Roles.Pos).Accepts<OrderCommit>("application/json")
            .WithSummary("Price and commit an order {orderId, order, acceptRecalculated}: 201 committed, 200 already committed (the same request), 409 a budget or limit ran out (with the recalculated basket) or the order id was used for a different order");
        api.MapGet("/{orderId}", GetAsync).RequireAuthorization(Roles.Viewer).WithSummary("A committed order with what it consumed");
        api.MapPost("/{orderId}/cancel", CancelAsync).RequireAuthorization(Roles.Pos).Accepts<OrderReturn>("application/json")
            .WithSummary("Cancel (no body) or return lines {returnId, lines:[{lineId, quantity}]}: gives back what the order consumed; idempotent");
        return api;
    }

    private static async Task<IResult> CommitAsync(HttpContext context, BudgetLedger ledger, CancellationToken cancellationToken)
    {
        var (commit, problem) = await JsonBody.ReadAsync(context.Request, PromotionsJsonContext.Default.OrderCommit, cancellationToken).ConfigureAwait(false);
        if (commit is null)
        {
            return problem!;
        }

        var outcome = await ledger.CommitAsync(commit, cancellationToken).ConfigureAwait(false);
        return outcome.Kind switch
        {
            LedgerOutcomeKind.Committed => new BufferedJsonResult<OrderRecord>(outcome.Order!, PromotionsJsonContext.Default.OrderRecord, StatusCodes.Status201Created),
            LedgerOutcomeKind.AlreadyCommitted => new BufferedJsonResult<OrderRecord>(outcome.Order!, PromotionsJsonContext.Default.OrderRecord),
            LedgerOutcomeKind.OrderIdReused => TypedResults.Problem(
                $"Order id '{commit.OrderId}' is already committed with a different basket, channel, store, customer or coupons; nothing was committed. Use a new order id for a new order.",
                statusCode: StatusCodes.Status409Conflict,
                title: "Order id already used for a different order",
                type: "https://serverless.local/problems/order-id-reused"),
            LedgerOutcomeKind.LimitReached => TypedResults.Json(
                new BudgetConflict(
                    "https://serverless.local/problems/promotion-budget-exhausted", "A promotion's budget or limit ran out", StatusCodes.Status409Conflict,
                    $"Not committed: {string.Join(", ", outcome.Exhausted!)} would exceed a budget or limit. The basket below is priced without them; commit again with acceptRecalculated=true to take it.",
                    context.Request.Path, JsonBody.TraceId(context), outcome.Exhausted!, outcome.Recalculated!),
                PromotionsJsonContext.Default.BudgetConflict, "application/problem+json", StatusCodes.Status409Conflict),
            _ => FieldProblems.ToValidationProblem(outcome.Problems!, p => p.Path, p => p.Message),
        };
    }

    private static async Task<IResult> GetAsync(string orderId, BudgetLedger ledger, CancellationToken cancellationToken) =>
        await ledger.GetOrderAsync(orderId, cancellationToken).ConfigureAwait(false) is { } order
            ? TypedResults.Json(order, PromotionsJsonContext.Default.OrderRecord)
            : TypedResults.NotFound();

    private static async Task<IResult> CancelAsync(string orderId, HttpRequest request, BudgetLedger ledger, CancellationToken cancellationToken)
    {
        OrderReturn? body = null;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            var (read, problem) = await JsonBody.ReadAsync(request, PromotionsJsonContext.Default.OrderReturn, cancellationToken).ConfigureAwait(false);
            if (read is null)
            {
                return problem!;
            }

            body = read;
        }

        var outcome = await ledger.ReleaseAsync(orderId, body, cancellationToken).ConfigureAwait(false);
        return outcome.Kind switch
        {
            LedgerOutcomeKind.Released => TypedResults.Json(outcome.Order!, PromotionsJsonContext.Default.OrderRecord),
            LedgerOutcomeKind.NotFound => TypedResults.NotFound(),
            _ => FieldProblems.ToValidationProblem(outcome.Problems!, p => p.Path, p => p.Message),
        };
    }
}
