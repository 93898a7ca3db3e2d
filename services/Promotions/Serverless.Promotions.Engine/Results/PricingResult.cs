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

    /// <summary>Basket evaluations this calculation needed (2 when nothing conflicted: one to choose, one to explain): the search cost, for monitoring.</summary>
    public int Evaluations { get; init; }
}
