using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Serverless.BuildingBlocks.Security;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>
/// POST /api/promotions/calculate: the priced basket with its explanation. Viewer role: a till or web shop prices
/// baskets all day with a key that can change nothing. The hot path reads no state; the answer is written by
/// <see cref="PricingResultWriter"/> (the generated serialiser's bytes, for 15-20 % less CPU).
/// </summary>
public static class CalculateApi
{
    public static RouteHandlerBuilder MapCalculateApi(this IEndpointRouteBuilder routes) =>
        routes.MapPost(PromotionsModule.RoutePrefix + "/calculate", CalculateAsync)
            .RequireAuthorization(Roles.Viewer)
            .WithTags("Promotions")
            .WithSummary("Price a basket against the active promotions (no state is read)")
            .Accepts<CalculationRequest>("application/json")
            .Produces<PricingResult>()
            .ProducesValidationProblem();

    private static async Task<IResult> CalculateAsync(HttpRequest request, PromotionPricing pricing, CancellationToken cancellationToken)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, PromotionsJsonContext.Default.CalculationRequest, cancellationToken, fast: CalculationRequestReader.TryRead).ConfigureAwait(false);
        if (body is null)
        {
            return problem!;
        }

        var (result, problems) = pricing.Calculate(body);
        return result is null
            ? FieldProblems.ToValidationProblem(problems, p => p.Path, p => p.Message)
            : new BufferedJsonResult<PricingResult>(result, PromotionsJsonContext.Default.PricingResult, write: PricingResultWriter.Write);
    }
}
