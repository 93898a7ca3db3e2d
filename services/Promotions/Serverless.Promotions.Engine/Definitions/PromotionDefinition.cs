namespace Serverless.Promotions.Engine.Definitions;

/// <summary>One promotion as authored. Serialisable with System.Text.Json; a snapshot is just a list of these.</summary>
public sealed record PromotionDefinition
{
    public required string Id { get; init; }

    public required string Name { get; init; }

    /// <summary>Higher applies first and wins ties in the best-deal search.</summary>
    public int Priority { get; init; }

    /// <summary>An exclusive promotion applies alone: nothing else applies when it is chosen.</summary>
    public bool Exclusive { get; init; }

    public StackingClass Class { get; init; } = StackingClass.Item;

    /// <summary>Classes this promotion may be applied together with (both sides must agree). Include its own class to stack with peers.</summary>
    public IReadOnlyList<StackingClass> CombinesWith { get; init; } = [StackingClass.Item, StackingClass.Order, StackingClass.Shipping];

    /// <summary>Whether percentages are taken from the original price or the price after earlier promotions.</summary>
    public StackingBase StackingBase { get; init; } = StackingBase.DiscountedPrice;

    /// <summary>
    /// The currency its amounts (prices, thresholds, caps) are in, ISO 4217; it then applies only to baskets in that
    /// currency. Without one its amounts are read in the basket's currency: fine for a one-currency chain and for percentages.
    /// </summary>
    public string? Currency { get; init; }

    /// <summary>Most this promotion may take off one order (in the basket's currency).</summary>
    public decimal? MaxDiscount { get; init; }

    public PromotionValidity? Validity { get; init; }

    public PromotionTargeting? Targeting { get; init; }

    public CouponRequirement? Coupon { get; init; }

    /// <summary>All conditions must hold.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    public IReadOnlyList<Reward> Rewards { get; init; } = [];
}
