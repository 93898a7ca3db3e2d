using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class ItemRewardTests
{
    [Fact]
    public void Percent_off_matching_items_rounds_each_unit_half_even()
    {
        // 15 % of 9.99 = 1.4985 → 1.50 per unit; shoes only.
        var result = Price(
            Basket(Line("1", "shoe", 2, 9.99m, "shoes"), Line("2", "hat", 1, 20m, "hats")),
            Item("p", new Reward.PercentOffItems(15m, Categories("shoes"))));

        Assert.Equal(3.00m, result.ItemDiscount);
        Assert.Equal(16.98m, result.LineOf("1").FinalTotal);
        Assert.Equal(20m, result.LineOf("2").FinalTotal);
        Assert.Equal(36.98m, result.Total);
        Assert.Equal(new LineAdjustment("p", 3.00m, 2), Assert.Single(result.LineOf("1").Adjustments));
    }

    [Fact]
    public void Amount_off_items_is_per_unit_and_clamped_at_zero_with_a_note()
    {
        var result = Price(
            Basket(Line("1", "sock", 3, 4m), Line("2", "shirt", 1, 25m)),
            Item("p", new Reward.AmountOffItems(5m)));

        Assert.Equal(12m + 5m, result.ItemDiscount);
        Assert.Equal(0m, result.LineOf("1").FinalTotal);
        Assert.Equal(20m, result.LineOf("2").FinalTotal);
        Assert.Contains(result.Notes, note => note.Contains("below zero", StringComparison.Ordinal));
    }

    [Fact]
    public void Fixed_price_per_item_leaves_cheaper_units_alone()
    {
        var result = Price(
            Basket(Line("1", "a", 2, 15m), Line("2", "b", 1, 8m)),
            Item("p", new Reward.FixedPricePerItem(10m)));

        Assert.Equal(10m, result.ItemDiscount);
        Assert.Equal(20m, result.LineOf("1").FinalTotal);
        Assert.Equal(8m, result.LineOf("2").FinalTotal);
    }

    [Theory]
    [InlineData(StackingBase.OriginalPrice)]
    [InlineData(StackingBase.DiscountedPrice)]
    public void A_fixed_price_after_an_earlier_discount_makes_the_unit_cost_that_price_whatever_the_stacking_base(StackingBase stackingBase)
    {
        // Found by review: with OriginalPrice the fixed price took original − price (20 − 9 = 11) on top of the 2.00 the
        // 10 % had taken, so the unit cost 7.00. A fixed price takes only what is left above it: 18.00 → 9.00.
        var result = Price(
            Basket(Line("1", "tee", 1, 20m)),
            Item("a-pct", new Reward.PercentOffItems(10m), priority: 10),
            Item("b-fixed", new Reward.FixedPricePerItem(9m)) with { StackingBase = stackingBase });

        Assert.Equal(9m, result.LineOf("1").FinalTotal);
        Assert.Equal([new LineAdjustment("a-pct", 2m, 1), new LineAdjustment("b-fixed", 9m, 1)], result.LineOf("1").Adjustments);
    }

    [Fact]
    public void A_member_price_after_an_earlier_discount_never_goes_below_the_member_price()
    {
        var result = Price(
            Basket(Line("1", "tv", 1, 999m)),
            new PricingContext(Noon) { MemberTier = "gold" },
            null,
            Item("a-pct", new Reward.PercentOffItems(5m), priority: 10),
            Item("member", new Reward.MemberPrice(["gold"], [new SkuPrice("tv", 899m)])) with { StackingBase = StackingBase.OriginalPrice });

        Assert.Equal(899m, result.LineOf("1").FinalTotal); // 999 − 49.95 = 949.05, then 50.05 to reach 899
    }

    [Fact]
    public void A_fixed_price_above_what_an_earlier_discount_left_takes_nothing()
    {
        var result = Price(
            Basket(Line("1", "tee", 1, 20m)),
            Item("a-pct", new Reward.PercentOffItems(60m), priority: 10),
            Item("b-fixed", new Reward.FixedPricePerItem(9m)) with { StackingBase = StackingBase.OriginalPrice });

        Assert.Equal(8m, result.LineOf("1").FinalTotal);
        Assert.Equal(OutcomeReason.NoSavingLeft, result.Outcome("b-fixed").Reason);
    }

    [Fact]
    public void Member_prices_apply_only_to_the_listed_tiers()
    {
        var promotion = Item("member", new Reward.MemberPrice(["gold"], [new SkuPrice("tv", 899m)]));
        var basket = Basket(Line("1", "tv", 1, 999m), Line("2", "cable", 1, 10m));

        var gold = Price(basket, new PricingContext(Noon) { MemberTier = "gold" }, null, promotion);
        var silver = Price(basket, new PricingContext(Noon) { MemberTier = "silver" }, null, promotion);

        Assert.Equal(100m, gold.ItemDiscount);
        Assert.Equal(0m, silver.ItemDiscount);
        Assert.Equal(OutcomeReason.NotTargeted, silver.Outcome("member").Reason);
        Assert.Equal("memberTier", silver.Outcome("member").Detail);
    }

    [Fact]
    public void Predicates_combine_with_exclusions()
    {
        // Shoes, but not the premium brand, and only under 100.
        var predicate = new ItemPredicate.AllOf([
            Categories("shoes"),
            new ItemPredicate.Exclude(new ItemPredicate.Brand(["premium"])),
            new ItemPredicate.PriceRange(null, 100m),
        ]);
        var result = Price(
            Basket(
                Line("1", "runner", 1, 80m, "shoes", "basic"),
                Line("2", "luxe", 1, 90m, "shoes", "premium"),
                Line("3", "boot", 1, 150m, "shoes", "basic"),
                Line("4", "cap", 1, 20m, "hats", "basic")),
            Item("p", new Reward.PercentOffItems(10m, predicate)));

        Assert.Equal(8m, result.ItemDiscount);
        Assert.Single(result.LineOf("1").Adjustments);
    }

    [Fact]
    public void Any_of_tags_or_skus_matches_either()
    {
        var predicate = new ItemPredicate.AnyOf([new ItemPredicate.Tag(["clearance"]), Skus("x")]);
        var result = Price(
            Basket(Line("1", "a", 1, 10m, null, null, "clearance"), Line("2", "x", 1, 10m), Line("3", "b", 1, 10m)),
            Item("p", new Reward.AmountOffItems(1m, predicate)));

        Assert.Equal(2m, result.ItemDiscount);
    }
}
