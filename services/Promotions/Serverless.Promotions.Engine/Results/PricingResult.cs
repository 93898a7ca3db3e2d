namespace Serverless.Promotions.Engine.Results;

/// <summary>The priced basket with its explanation. Amounts are in the basket currency, rounded to its minor unit.</summary>
public sealed record PricingResult(
    string Currency,
    decimal Subtotal,
    decimal ItemDiscount,
    decimal OrderDiscount,
    decimal ShippingAmount,
    decimal ShippingDiscount,
    decimal Total,
    IReadOnlyList<LineResult> Lines,
    IReadOnlyList<GiftLine> Gifts,
    IReadOnlyList<PromotionOutcome> Promotions,
    IReadOnlyList<string> Notes,
    SearchMode Search)
{
    public decimal TotalDiscount => ItemDiscount + OrderDiscount + ShippingDiscount;

    /// <summary>Basket evaluations the best-deal search needed (1 when nothing conflicted): its cost, for monitoring.</summary>
    public int Evaluations { get; init; }
}

/// <summary>How the best deal was chosen.</summary>
public enum SearchMode
{
    /// <summary>No conflicts: every eligible promotion applied.</summary>
    NoConflict,

    /// <summary>Branch and bound over the conflicting candidates: the best combination.</summary>
    Exact,

    /// <summary>Too many conflicting candidates or the evaluation bound was hit: greedy by standalone saving (or the best found within the bound).</summary>
    Greedy,
}

/// <summary>A line after promotions. Units are split into groups where they ended at different prices (e.g. 1 of 3 free).</summary>
public sealed record LineResult(
    string LineId,
    string Sku,
    int Quantity,
    decimal OriginalUnitPrice,
    decimal OriginalTotal,
    IReadOnlyList<LineAdjustment> Adjustments,
    IReadOnlyList<UnitPriceGroup> Units,
    decimal FinalTotal);

/// <summary>One promotion's effect on one line: Units is how many of the line's units it touched (0 for an allocated order discount).</summary>
public sealed record LineAdjustment(string PromotionId, decimal Amount, int Units);

/// <summary>Quantity units of the line at this unit price after item promotions (order discounts are allocated per line, not per unit).</summary>
public sealed record UnitPriceGroup(int Quantity, decimal UnitPrice);

public sealed record GiftLine(string PromotionId, string Sku, int Quantity, decimal UnitPrice);

/// <summary>Why a promotion that was looked at did or did not apply.</summary>
public sealed record PromotionOutcome(string PromotionId, bool Applied, OutcomeReason Reason, string Message, decimal Saving)
{
    /// <summary>The promotion that won or excluded this one, for LostBestDeal / ExcludedBy.</summary>
    public string? RelatedPromotionId { get; init; }

    /// <summary>For MinimumSpendNotMet: how much more to spend.</summary>
    public decimal? MissingAmount { get; init; }

    /// <summary>For MinimumSpendNotMet: what it would save once reached, when known.</summary>
    public decimal? PotentialSaving { get; init; }

    /// <summary>For NotTargeted: channel, store, region, segment, memberTier or firstOrder.</summary>
    public string? Detail { get; init; }
}

public enum OutcomeReason
{
    Applied,
    OutsideWindow,
    NotTargeted,
    CouponMissing,
    BudgetExhausted,
    LostBestDeal,
    ExcludedBy,
    MinimumSpendNotMet,
    MinimumQuantityNotMet,
    NoMatchingItems,

    /// <summary>Chosen, but earlier promotions or caps left nothing for it to take.</summary>
    NoSavingLeft,
}
