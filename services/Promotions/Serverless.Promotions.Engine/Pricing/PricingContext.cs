using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>Everything about the moment and the customer that decides eligibility. The engine never reads a clock: <see cref="At"/> is the instant priced.</summary>
public sealed record PricingContext(DateTimeOffset At)
{
    public SalesChannel Channel { get; init; } = SalesChannel.Online;

    public string? StoreId { get; init; }

    public string? Region { get; init; }

    public IReadOnlyList<string> Segments { get; init; } = [];

    public string? MemberTier { get; init; }

    public bool FirstOrder { get; init; }

    /// <summary>Codes the customer presented: static codes of a definition, or generated batch codes (verified by the snapshot's batches).</summary>
    public IReadOnlyList<string> Coupons { get; init; } = [];

    /// <summary>Promotions whose budget is spent (the service keeps the ledger).</summary>
    public IReadOnlySet<string> ExhaustedPromotionIds { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>
    /// Static coupon codes that have reached their per-code use limit, by promotion id, spelt as in the definition (the
    /// service keeps the ledger). A presented code in here does not unlock the promotion: "Coupon code X has been used up."
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>>? ExhaustedCouponCodes { get; init; }

    /// <summary>
    /// Most a promotion may take off this basket beyond its own maximum, by promotion id: what is left of its budget
    /// (the ledger passes it when an order would take more than that, so the order gets what is left instead of nothing).
    /// </summary>
    public IReadOnlyDictionary<string, decimal>? DiscountCaps { get; init; }
}
