using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Promotions.Service;

/// <summary>Settings under <c>Promotions:</c>.</summary>
public sealed record PromotionsOptions
{
    /// <summary>How long after its end a promotion is settled (late returns still change its numbers until then).</summary>
    public TimeSpan SettlementGrace { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often each instance checks the catalog version (a change reaches calculate within this plus a reload).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The tenant's pricing rules (<c>Promotions:Pricing:</c>): rounding mode, per currency, and the per-order discount cap.</summary>
    public PricingOptions Pricing { get; init; } = PricingOptions.Default;
}
