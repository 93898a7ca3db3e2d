using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.Security;
using Serverless.Webhooks.Service.Inbound;
using Serverless.Webhooks.Service.Receipts;

namespace Serverless.Webhooks.Functions.Apis;

/// <summary>/api/webhooks/receipts: every inbound webhook as it arrived (raw body, redacted headers).</summary>
public static class ReceiptsApi
{
    public static RouteGroupBuilder MapReceiptsApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(WebhooksModule.RoutePrefix + "/receipts").WithTags("Webhooks").RequireAuthorization(Roles.Viewer);
        api.MapGet("/", ListAsync).WithSummary("Receipts, oldest first, optionally of one source");
        api.MapGet("/{id}", GetAsync).WithSummary("One receipt with its raw body (base64) and redacted headers");
        api.MapPost("/{id}/replay", ReplayAsync).RequireAuthorization(Roles.Operator).WithSummary("Publish a receipt's events again (new event ids)");
        return api;
    }

    private static async Task<Results<Ok<ReceiptPage>, ValidationProblem>> ListAsync(ReceiptLedger receipts, string? source, int? limit, string? cursor, CancellationToken cancellationToken)
    {
        if (PageLimit.Problem(limit) is { } badLimit)
        {
            return badLimit;
        }

        return TypedResults.Ok(await receipts.ListAsync(source, limit ?? PageLimit.Default, cursor, cancellationToken).ConfigureAwait(false));
    }

    private static async Task<Results<Ok<Receipt>, NotFound>> GetAsync(string id, ReceiptLedger receipts, CancellationToken cancellationToken) =>
        await receipts.GetAsync(id, cancellationToken).ConfigureAwait(false) is { } receipt ? TypedResults.Ok(receipt) : TypedResults.NotFound();

    private static async Task<Results<Accepted, NotFound>> ReplayAsync(string id, WebhookReceiver receiver, CancellationToken cancellationToken) =>
        await receiver.ReplayAsync(id, cancellationToken).ConfigureAwait(false) ? TypedResults.Accepted((string?)null) : TypedResults.NotFound();
}
