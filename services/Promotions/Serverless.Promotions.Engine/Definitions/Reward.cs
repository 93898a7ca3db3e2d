using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Definitions;

/// <summary>What a promotion gives. Item rewards (percent/amount/fixed price, buy X get Y, bundle, Nth item, member price)
/// belong to the Item class, order and gift rewards to Order, shipping rewards to Shipping.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(PercentOffItems), "percentOffItems")]
[JsonDerivedType(typeof(AmountOffItems), "amountOffItems")]
[JsonDerivedType(typeof(FixedPricePerItem), "fixedPricePerItem")]
[JsonDerivedType(typeof(PercentOffOrder), "percentOffOrder")]
[JsonDerivedType(typeof(AmountOffOrder), "amountOffOrder")]
[JsonDerivedType(typeof(SpendTiers), "spendTiers")]
[JsonDerivedType(typeof(SpendEvery), "spendEvery")]
[JsonDerivedType(typeof(BuyXGetY), "buyXGetY")]
[JsonDerivedType(typeof(BundlePrice), "bundlePrice")]
[JsonDerivedType(typeof(NthItemDiscount), "nthItemDiscount")]
[JsonDerivedType(typeof(MemberPrice), "memberPrice")]
[JsonDerivedType(typeof(FreeGift), "freeGift")]
[JsonDerivedType(typeof(ShippingDiscount), "shippingDiscount")]
public abstract record Reward
{
    /// <summary>Percent (0–100) off every matching unit.</summary>
    public sealed record PercentOffItems(decimal Percent, ItemPredicate? Items = null) : Reward;

    /// <summary>Amount off every matching unit.</summary>
    public sealed record AmountOffItems(decimal Amount, ItemPredicate? Items = null) : Reward;

    /// <summary>Every matching unit costs Price (units already cheaper are left alone).</summary>
    public sealed record FixedPricePerItem(decimal Price, ItemPredicate? Items = null) : Reward;

    /// <summary>Percent off the subtotal of the matching lines (all lines when Items is null), allocated to lines.</summary>
    public sealed record PercentOffOrder(decimal Percent, ItemPredicate? Items = null) : Reward;

    public sealed record AmountOffOrder(decimal Amount, ItemPredicate? Items = null) : Reward;

    /// <summary>Spend 100 save 10, spend 200 save 25: the highest tier reached applies. A tier saves an Amount or a Percent.</summary>
    public sealed record SpendTiers(IReadOnlyList<SpendTier> Tiers, SpendBasis Basis = SpendBasis.Original, ItemPredicate? Items = null) : Reward;

    /// <summary>Every Every spent saves Save, at most MaxApplications times.</summary>
    public sealed record SpendEvery(decimal Every, decimal Save, int? MaxApplications = null, SpendBasis Basis = SpendBasis.Original, ItemPredicate? Items = null) : Reward;

    /// <summary>
    /// Buy BuyQuantity of Buy, get GetQuantity of Get (Buy when null) free or discounted. Repeats up to MaxApplications.
    /// Units used (bought or given) are consumed: no other buy-X-get-Y, bundle or Nth-item reward can use them.
    /// Each application needs BuyQuantity "buy" units and GetQuantity "get" units in full: with fewer "get" units left
    /// there is no further application, and a unit is only ever discounted as a "get" unit.
    /// </summary>
    public sealed record BuyXGetY(
        int BuyQuantity,
        int GetQuantity,
        ItemPredicate? Buy = null,
        ItemPredicate? Get = null,
        DiscountKind Discount = DiscountKind.Free,
        decimal Value = 0m,
        UnitChoice Choose = UnitChoice.Cheapest,
        int? MaxApplications = null) : Reward;

    /// <summary>Any Quantity matching units for Price (mix and match), repeating up to MaxApplications. The most expensive units are bundled first.</summary>
    public sealed record BundlePrice(int Quantity, decimal Price, ItemPredicate? Items = null, int? MaxApplications = null) : Reward;

    /// <summary>Every Nth matching unit (by descending price, so the cheaper ones) gets Percent off.</summary>
    public sealed record NthItemDiscount(int N, decimal Percent, ItemPredicate? Items = null, int? MaxApplications = null) : Reward;

    /// <summary>Members of the given tiers pay these prices per sku.</summary>
    public sealed record MemberPrice(IReadOnlyList<string> Tiers, IReadOnlyList<SkuPrice> Prices) : Reward;

    /// <summary>Adds a gift line at zero.</summary>
    public sealed record FreeGift(string Sku, int Quantity = 1) : Reward;

    /// <summary>Percent or amount off the basket's shipping; Free takes it all.</summary>
    public sealed record ShippingDiscount(DiscountKind Kind, decimal Value = 0m) : Reward;
}

/// <summary>A spend tier: reaching Threshold saves Amount, or Percent of the measured subtotal.</summary>
public sealed record SpendTier(decimal Threshold, decimal? Amount = null, decimal? Percent = null);

public sealed record SkuPrice(string Sku, decimal Price);
