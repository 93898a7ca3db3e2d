using Serverless.Promotions.Engine.Money;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>Tenant-level rules applied to every calculation against a snapshot.</summary>
public sealed record PricingOptions
{
    public static PricingOptions Default { get; } = new();

    public RoundingMode Rounding { get; init; } = RoundingMode.HalfEven;

    /// <summary>Per-currency rounding overrides (e.g. CHF half-up).</summary>
    public IReadOnlyDictionary<string, RoundingMode> RoundingByCurrency { get; init; } = new Dictionary<string, RoundingMode>(StringComparer.Ordinal);

    /// <summary>Most the item and order promotions together may take off one order; null = no cap. Shipping discounts are separate.</summary>
    public decimal? MaxOrderDiscount { get; init; }

    /// <summary>Most the item and order promotions together may take off, as a percent of the original subtotal.</summary>
    public decimal? MaxOrderDiscountPercent { get; init; }

    /// <summary>Exact best-deal search runs over at most this many conflicting candidates; beyond it the greedy heuristic decides.</summary>
    public int MaxExactCandidates { get; init; } = 16;

    /// <summary>Hard bound on basket evaluations in the exact search; when reached the best combination found so far (at least the greedy one) is used.</summary>
    public int MaxSearchEvaluations { get; init; } = 512;
}
