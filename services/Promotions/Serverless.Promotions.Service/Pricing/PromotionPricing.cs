using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Active;

namespace Serverless.Promotions.Service.Pricing;

/// <summary>Calculate: prices a request against this instance's active snapshot. No I/O: the snapshot and the exhausted set are in memory.</summary>
public sealed class PromotionPricing(ActivePromotions active, TimeProvider time)
{
    public (PricingResult? Result, IReadOnlyList<ValidationProblem> Problems) Calculate(CalculationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var (basket, context, problems) = request.ToPricing(time.GetUtcNow());
        if (problems.Count > 0)
        {
            return (null, problems);
        }

        var view = active.Current;
        return (view.Snapshot.Calculate(basket!, view.WithUsedUp(context!)), []);
    }
}
