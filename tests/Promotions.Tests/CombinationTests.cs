using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class CombinationTests
{
    private static readonly Basket Hundred = Basket(Line("1", "a", 1, 100m));

    [Fact]
    public void Item_promotions_stack_on_the_discounted_price_in_priority_order()
    {
        // 10 % off 100 = 10, then 20 % off 90 = 18.
        var result = Price(Hundred, Item("ten", new Reward.PercentOffItems(10m), priority: 2), Item("twenty", new Reward.PercentOffItems(20m), priority: 1));

        Assert.Equal(28m, result.ItemDiscount);
        Assert.Equal(["ten", "twenty"], result.LineOf("1").Adjustments.Select(a => a.PromotionId));
    }

    [Fact]
    public void Stacking_on_the_original_price_takes_the_percentage_of_the_original()
    {
        var result = Price(
            Hundred,
            Item("ten", new Reward.PercentOffItems(10m), priority: 2),
            Item("twenty", new Reward.PercentOffItems(20m), priority: 1) with { StackingBase = StackingBase.OriginalPrice });

        Assert.Equal(30m, result.ItemDiscount);
    }

    [Fact]
    public void Item_discounts_come_before_order_discounts_whatever_the_priority()
    {
        var result = Price(Hundred, Order("order", new Reward.PercentOffOrder(10m), priority: 99), Item("item", new Reward.AmountOffItems(20m)));

        // 20 off the item, then 10 % of 80.
        Assert.Equal(20m, result.ItemDiscount);
        Assert.Equal(8m, result.OrderDiscount);
    }

    [Fact]
    public void On_an_equal_saving_the_higher_priority_order_promotion_beats_a_lower_priority_item_promotion()
    {
        // Found by review: ties were settled in application order (class first), so any item promotion beat a
        // higher-priority order promotion, and the loser was told the winner "saves more".
        var result = Price(
            Basket(Line("1", "x", 1, 50m)),
            Item("a-item", new Reward.AmountOffItems(10m)) with { CombinesWith = [StackingClass.Item, StackingClass.Shipping] },
            Order("b-order", new Reward.AmountOffOrder(10m), priority: 100) with { CombinesWith = [StackingClass.Order, StackingClass.Shipping] });

        Assert.True(result.Outcome("b-order").Applied);
        Assert.Equal((0m, 10m), (result.ItemDiscount, result.OrderDiscount));
        var loser = result.Outcome("a-item");
        Assert.Equal(OutcomeReason.LostBestDeal, loser.Reason);
        Assert.Equal("b-order", loser.RelatedPromotionId);
        Assert.Equal("b-order saves as much and wins the tie (higher priority); the two do not combine.", loser.Message);
    }

    [Fact]
    public void On_an_equal_saving_and_priority_the_lower_id_wins_and_the_loser_is_told_so()
    {
        var result = Price(
            Basket(Line("1", "x", 1, 50m)),
            Item("b-item", new Reward.AmountOffItems(10m)) with { CombinesWith = [StackingClass.Item, StackingClass.Shipping] },
            Order("a-order", new Reward.AmountOffOrder(10m)) with { CombinesWith = [StackingClass.Order, StackingClass.Shipping] });

        Assert.True(result.Outcome("a-order").Applied);
        Assert.Equal("a-order saves as much and wins the tie (same priority, lower id); the two do not combine.", result.Outcome("b-item").Message);
    }

    [Fact]
    public void A_loser_that_saves_less_is_still_told_the_winner_saves_more()
    {
        var result = Price(
            Basket(Line("1", "x", 1, 50m)),
            Item("a-item", new Reward.AmountOffItems(12m)) with { CombinesWith = [StackingClass.Item, StackingClass.Shipping] },
            Order("b-order", new Reward.AmountOffOrder(10m), priority: 100) with { CombinesWith = [StackingClass.Order, StackingClass.Shipping] });

        Assert.True(result.Outcome("a-item").Applied);
        Assert.Equal("a-item saves more and the two do not combine.", result.Outcome("b-order").Message);
    }

    [Fact]
    public void On_an_equal_saving_a_higher_priority_exclusive_order_promotion_beats_an_item_promotion()
    {
        var result = Price(
            Basket(Line("1", "x", 1, 50m)),
            Item("a-item", new Reward.AmountOffItems(10m)),
            Order("b-order", new Reward.AmountOffOrder(10m), priority: 100) with { Exclusive = true });

        Assert.True(result.Outcome("b-order").Applied);
        Assert.Equal(OutcomeReason.ExcludedBy, result.Outcome("a-item").Reason);
    }

    [Fact]
    public void Of_two_exclusive_promotions_saving_the_same_the_loser_is_told_it_lost_the_tie()
    {
        var result = Price(
            Basket(Line("1", "x", 1, 50m)),
            Item("a-item", new Reward.AmountOffItems(10m)) with { Exclusive = true },
            Order("b-order", new Reward.AmountOffOrder(10m), priority: 5) with { Exclusive = true });

        Assert.True(result.Outcome("b-order").Applied);
        Assert.Equal("b-order saves as much and wins the tie (higher priority); the two do not combine.", result.Outcome("a-item").Message);
    }

    [Fact]
    public void An_exclusive_promotion_applies_alone_when_it_is_the_best_deal()
    {
        var result = Price(
            Hundred,
            Item("exclusive", new Reward.PercentOffItems(40m)) with { Exclusive = true },
            Item("a", new Reward.PercentOffItems(10m)),
            Order("b", new Reward.AmountOffOrder(15m)));

        Assert.Equal(40m, result.TotalDiscount);
        Assert.Equal(SearchMode.Exact, result.Search);
        Assert.Equal(OutcomeReason.ExcludedBy, result.Outcome("a").Reason);
        Assert.Equal("exclusive", result.Outcome("b").RelatedPromotionId);
    }

    [Fact]
    public void An_exclusive_promotion_loses_to_a_better_combination()
    {
        var result = Price(
            Hundred,
            Item("exclusive", new Reward.PercentOffItems(20m)) with { Exclusive = true },
            Item("a", new Reward.PercentOffItems(10m)),
            Order("b", new Reward.AmountOffOrder(15m)));

        // a + b = 10 + 15 = 25 beats 20.
        Assert.Equal(25m, result.TotalDiscount);
        Assert.Equal(OutcomeReason.LostBestDeal, result.Outcome("exclusive").Reason);
    }

    [Fact]
    public void Promotions_whose_classes_do_not_combine_compete()
    {
        var itemOnly = Item("item", new Reward.PercentOffItems(10m)) with { CombinesWith = [StackingClass.Item] };
        var result = Price(Hundred, itemOnly, Order("order", new Reward.AmountOffOrder(12m)), Shipping("ship", new Reward.ShippingDiscount(DiscountKind.Free)));

        // The item promotion combines with neither: the order one (12) beats it (10); shipping combines with the order one.
        Assert.Equal(12m, result.OrderDiscount);
        Assert.Equal(0m, result.ItemDiscount);
        Assert.Equal(OutcomeReason.LostBestDeal, result.Outcome("item").Reason);
        Assert.Equal("order", result.Outcome("item").RelatedPromotionId);
    }

    [Fact]
    public void Same_class_promotions_that_do_not_combine_with_their_own_class_pick_the_better()
    {
        var a = Order("a", new Reward.AmountOffOrder(10m)) with { CombinesWith = [StackingClass.Item] };
        var b = Order("b", new Reward.PercentOffOrder(15m)) with { CombinesWith = [StackingClass.Item] };

        var result = Price(Hundred, a, b);

        Assert.Equal(15m, result.OrderDiscount);
        Assert.True(result.Outcome("b").Applied);
    }

    [Fact]
    public void Equal_savings_are_broken_by_priority_then_id()
    {
        PromotionDefinition Exclusive(string id, int priority) => Item(id, new Reward.AmountOffItems(10m), priority) with { Exclusive = true };

        Assert.True(Price(Hundred, Exclusive("a", 1), Exclusive("b", 2)).Outcome("b").Applied);
        Assert.True(Price(Hundred, Exclusive("b", 1), Exclusive("a", 1)).Outcome("a").Applied);
    }

    [Fact]
    public void Per_promotion_cap_limits_its_total_and_is_allocated_over_units()
    {
        var result = Price(
            Basket(Line("1", "a", 3, 10m)),
            Item("p", new Reward.PercentOffItems(50m)) with { MaxDiscount = 10m });

        Assert.Equal(10m, result.ItemDiscount);
        Assert.Equal([new UnitPriceGroup(2, 6.67m), new UnitPriceGroup(1, 6.66m)], result.LineOf("1").Units);
        Assert.Contains(result.Notes, n => n.Contains("capped", StringComparison.Ordinal));
    }

    [Fact]
    public void Per_order_cap_limits_item_and_order_discounts_together()
    {
        var options = new PricingOptions { MaxOrderDiscount = 25m };
        var result = Price(
            Hundred,
            new PricingContext(Noon),
            options,
            Item("item", new Reward.PercentOffItems(20m)),
            Order("order", new Reward.AmountOffOrder(10m)),
            Shipping("ship", new Reward.ShippingDiscount(DiscountKind.Free)));

        Assert.Equal(20m, result.ItemDiscount);
        Assert.Equal(5m, result.OrderDiscount);
        Assert.Equal(80m - 5m, result.Total);
    }

    [Fact]
    public void Per_order_percent_cap_is_taken_of_the_original_subtotal()
    {
        var options = new PricingOptions { MaxOrderDiscountPercent = 15m };
        var result = Price(Hundred, new PricingContext(Noon), options, Item("item", new Reward.PercentOffItems(50m)));

        Assert.Equal(15m, result.ItemDiscount);
    }

    [Fact]
    public void Minimum_spend_on_the_discounted_subtotal_is_measured_after_item_promotions()
    {
        var order = Order("order", new Reward.AmountOffOrder(10m)) with { Conditions = [new Condition.MinimumSpend(95m, SpendBasis.Discounted)] };
        var item = Item("item", new Reward.PercentOffItems(10m));

        // Together: 90 < 95, so the order promotion fails (saving 10). Alone, the order promotion saves 10 too;
        // the tie goes to the higher-ranked (item class first) combination.
        var result = Price(Hundred, item, order);

        Assert.Equal(10m, result.TotalDiscount);
        Assert.True(result.Outcome("item").Applied);

        var onOriginal = Price(Hundred, item, order with { Conditions = [new Condition.MinimumSpend(95m, SpendBasis.Original)] });
        Assert.Equal(20m, onOriginal.TotalDiscount);
    }
}
