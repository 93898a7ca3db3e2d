using System.Buffers;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>
/// /api/promotions/{id}/coupon-batches: generated coupon codes (create, list, download as CSV, revoke) and
/// /api/promotions/coupons/{code}: where a code comes from and whether it works. The codes CSV needs the operator
/// role: it is every valid code of the batch, worth as much as the discounts themselves.
/// </summary>
public static class CouponBatchesApi
{
    public static RouteGroupBuilder MapCouponBatchesApi(this IEndpointRouteBuilder routes)
    {
        var api = routes.MapGroup(PromotionsModule.RoutePrefix).WithTags("Promotions");
        api.MapPost("/{id}/coupon-batches", CreateAsync).RequireAuthorization(Roles.Operator).Accepts<CouponBatchInput>("application/json")
            .WithSummary("Create a batch of generated coupon codes {prefix, count} for a promotion that needs a coupon: 201 with the codes' URL");
        api.MapGet("/{id}/coupon-batches", ListAsync).RequireAuthorization(Roles.Viewer).WithSummary("The promotion's coupon batches (never their keys)");
        api.MapGet("/{id}/coupon-batches/{batchId}/codes", CodesAsync).RequireAuthorization(Roles.Operator)
            .WithSummary($"The batch's codes as text/csv, one per line (?offset=&limit=, at most {CouponBatches.MaxCodesPerRequest:N0} per request)");
        api.MapPost("/{id}/coupon-batches/{batchId}/revoke", RevokeAsync).RequireAuthorization(Roles.Operator)
            .WithSummary("Revoke a batch: its codes stop working on every instance within a second");
        api.MapGet("/coupons/{code}", LookupAsync).RequireAuthorization(Roles.Viewer)
            .WithSummary("Which promotion, batch and serial a generated code belongs to, whether it works now, and its uses under a per-code limit");
        return api;
    }

    private static async Task<IResult> CreateAsync(string id, HttpContext context, CouponBatches batches, CancellationToken cancellationToken)
    {
        var (input, problem) = await JsonBody.ReadAsync(context.Request, PromotionsJsonContext.Default.CouponBatchInput, cancellationToken).ConfigureAwait(false);
        if (input is null)
        {
            return problem!;
        }

        var outcome = await batches.CreateAsync(id, input, cancellationToken).ConfigureAwait(false);
        return outcome.Kind == CatalogOutcomeKind.Created
            ? TypedResults.Json(CouponBatchView.From(id, outcome.Batch!), PromotionsJsonContext.Default.CouponBatchView, statusCode: StatusCodes.Status201Created)
            : ToResult(id, outcome);
    }

    private static async Task<IResult> ListAsync(string id, CouponBatches batches, CancellationToken cancellationToken) =>
        await batches.ListAsync(id, cancellationToken).ConfigureAwait(false) is { } list
            ? TypedResults.Json(new CouponBatchList([.. list.Select(b => CouponBatchView.From(id, b))]), PromotionsJsonContext.Default.CouponBatchList)
            : TypedResults.NotFound();

    private static async Task<IResult> RevokeAsync(string id, string batchId, CouponBatches batches, CancellationToken cancellationToken) =>
        ToResult(id, await batches.RevokeAsync(id, batchId, cancellationToken).ConfigureAwait(false));

    private static async Task<IResult> CodesAsync(string id, string batchId, string? offset, string? limit, CouponBatches batches, CancellationToken cancellationToken)
    {
        var problems = new List<ValidationProblem>();
        var first = 0L;
        if (offset is not null && (!long.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out first) || first < 0))
        {
            problems.Add(new("offset", "must be a whole number, 0 or more"));
        }

        var take = (long)CouponBatches.MaxCodesPerRequest;
        if (limit is not null && (!long.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out take) || take is < 1 or > CouponBatches.MaxCodesPerRequest))
        {
            problems.Add(new("limit", string.Create(CultureInfo.InvariantCulture, $"must be a whole number from 1 to {CouponBatches.MaxCodesPerRequest:N0}")));
        }

        if (problems.Count > 0)
        {
            return FieldProblems.ToValidationProblem(problems, p => p.Path, p => p.Message);
        }

        if (await batches.CodesAsync(id, batchId, cancellationToken).ConfigureAwait(false) is not { } codes)
        {
            return TypedResults.NotFound();
        }

        var count = codes.Batch.Count;
        if (first >= count)
        {
            return JsonBody.Invalid("offset", string.Create(CultureInfo.InvariantCulture, $"must be below the batch's count ({count})"));
        }

        var end = (int)Math.Min(count, first + take);
        return TypedResults.Stream(async stream =>
        {
            // Codes are made from the key as they are written, 64 KiB at a time: about 3 µs of CPU each (a million in about 3 s), nothing stored.
            var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
            try
            {
                var used = 0;
                for (var serial = (int)first; serial < end; serial++)
                {
                    if (used + codes.CodeLength + 1 > buffer.Length)
                    {
                        await stream.WriteAsync(buffer.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
                        used = 0;
                    }

                    used += codes.WriteAscii(serial, buffer.AsSpan(used));
                    buffer[used++] = (byte)'\n';
                }

                await stream.WriteAsync(buffer.AsMemory(0, used), cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }, "text/csv; charset=utf-8", fileDownloadName: $"{id}-{batchId}-{first}.csv");
    }

    private static async Task<IResult> LookupAsync(string code, CouponBatches batches, CancellationToken cancellationToken) =>
        await batches.LookupAsync(code, cancellationToken).ConfigureAwait(false) is { } found
            ? TypedResults.Json(found, PromotionsJsonContext.Default.CouponLookup)
            : TypedResults.NotFound();

    private static IResult ToResult(string id, CouponBatchOutcome outcome) => outcome.Kind switch
    {
        CatalogOutcomeKind.Created or CatalogOutcomeKind.Ok => TypedResults.Json(CouponBatchView.From(id, outcome.Batch!), PromotionsJsonContext.Default.CouponBatchView),
        CatalogOutcomeKind.Invalid => FieldProblems.ToValidationProblem(outcome.Problems!, p => p.Path, p => p.Message),
        CatalogOutcomeKind.NotFound => TypedResults.NotFound(),
        _ => TypedResults.Problem(outcome.Message, statusCode: StatusCodes.Status409Conflict, title: "The promotion does not allow this coupon batch change"),
    };
}

/// <summary>A coupon batch as the API shows it (never its key), with where to download its codes.</summary>
public sealed record CouponBatchView(string Id, string Prefix, int Count, DateTimeOffset CreatedAt, bool Revoked, DateTimeOffset? RevokedAt, string CodesUrl)
{
    public static CouponBatchView From(string promotionId, CouponBatchRecord batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return new(batch.Id, batch.Prefix, batch.Count, batch.CreatedAt, batch.Revoked, batch.RevokedAt,
            $"{PromotionsModule.RoutePrefix}/{Uri.EscapeDataString(promotionId)}/coupon-batches/{Uri.EscapeDataString(batch.Id)}/codes");
    }
}

public sealed record CouponBatchList(IReadOnlyList<CouponBatchView> Items);
