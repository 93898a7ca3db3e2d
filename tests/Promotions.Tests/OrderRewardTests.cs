using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class OrderRewardTests
{
    private static Basket ThreeLines() => Basket(Line("1", "a", 1, 10m), Line("2", "b", 1, 10m), Line("3", "c", 1, 10m));

    [Fact]
    public void Amount_off_the_order_is_allocated_by_largest_remainder_and_sums_exactly()
    {
        // 10.00 over three equal lines: 3.34 + 3.33 + 3.33 (the first equal remainder gets the extra cent).
        var result = Price(ThreeLines(), Order("p", new Reward.AmountOffOrder(10m)));

        Assert.Equal(10m, result.OrderDiscount);
        Assert.Equal([3.34m, 3.33m, 3.33m], result.Lines.Select(l => l.Adjustments.Single().Amount));
        Assert.Equal(20m, result.Total);
    }

    [Fact]
    public void Percent_off_the_order_rounds_once_on_the_subtotal()
    {
        var result = Price(Basket(Line("1", "a", 3, 3.33m)), Order("p", new Reward.PercentOffOrder(12.5m)));

        // 12.5 % of 9.99 = 1.24875 → 1.25
        Assert.Equal(1.25m, result.OrderDiscount);
        Assert.Equal(8.74m, result.Total);
    }

    [Theory]
    [InlineData(99.99, 0)]
    [InlineData(100, 10)]
    [InlineData(199.99, 10)]
    [InlineData(200, 25)]
    [InlineData(500, 25)]
    public void Spend_tiers_give_the_highest_tier_reached(decimal spend, decimal saving)
    {
        var result = Price(
            Basket(Line("1", "a", 1, spend)),
            Order("p", new Reward.SpendTiers([new SpendTier(100m, 10m), new SpendTier(200m, 25m)])));

        Assert.Equal(saving, result.OrderDiscount);
    }

    [Fact]
    public void Spend_tiers_can_save_a_percent_of_the_spend()
    {
        var result = Price(
            Basket(Line("1", "a", 1, 250m)),
            Order("p", new Reward.SpendTiers([new SpendTier(100m, Percent: 5m), new SpendTier(200m, Percent: 10m)])));

        Assert.Equal(25m, result.OrderDiscount);
    }

    [Theory]
    [InlineData(99, 0)]
    [InlineData(100, 10)]
    [InlineData(299, 20)]
    [InlineData(1000, 30)]
    public void Every_100_saves_10_up_to_three_times(decimal spend, decimal saving)
    {
        var result = Price(Basket(Line("1", "a", 1, spend)), Order("p", new Reward.SpendEvery(100m, 10m, MaxApplications: 3)));

        Assert.Equal(saving, result.OrderDiscount);
    }

    [Fact]
    public void Order_discount_is_clamped_so_the_total_is_never_negative()
    {
        var result = Price(Basket(Line("1", "a", 1, 15m)), Order("p", new Reward.AmountOffOrder(20m)));

        Assert.Equal(15m, result.OrderDiscount);
        Assert.Equal(0m, result.Total);
        Assert.Contains(result.Notes, n => n.Contains("clamped", StringComparison.Ordinal));
    }

    [Fact]
    public void Free_gift_adds_a_zero_priced_line()
    {
        var promotion = Order("gift", new Reward.FreeGift("tote-bag")) with
        {
            Conditions = [new Condition.MinimumSpend(50m)],
        };
        var result = Price(Basket(Line("1", "a", 1, 60m)), promotion);

        Assert.Equal(new GiftLine("gift", "tote-bag", 1, 0m), Assert.Single(result.Gifts));
        Assert.True(result.Outcome("gift").Applied);
        Assert.Equal(60m, result.Total);
    }

    [Theory]
    [InlineData(DiscountKind.Free, 0, 4.95)]
    [InlineData(DiscountKind.Percent, 50, 2.48)]
    [InlineData(DiscountKind.Amount, 10, 4.95)]
    [InlineData(DiscountKind.Amount, 2, 2)]
    public void Shipping_discounts_never_exceed_the_shipping_amount(DiscountKind kind, decimal value, decimal saving)
    {
        // 50 % of 4.95 = 2.475 → 2.48 (half-even: 7 is odd, rounds up).
        var result = Price(new Basket("EUR", [Line("1", "a", 1, 30m)], 4.95m), Shipping("ship", new Reward.ShippingDiscount(kind, value)));

        Assert.Equal(saving, result.ShippingDiscount);
        Assert.Equal(30m + 4.95m - saving, result.Total);
    }

    [Fact]
    public void Order_discount_on_matching_items_only_touches_those_lines()
    {
        var result = Price(
            Basket(Line("1", "a", 1, 30m, "toys"), Line("2", "b", 1, 70m, "food")),
            Order("p", new Reward.PercentOffOrder(10m, Categories("toys"))));

        Assert.Equal(3m, result.OrderDiscount);
        Assert.Empty(result.LineOf("2").Adjustments);
    }

    [Fact]
    public void Half_up_rounding_can_be_chosen_per_currency()
    {
        var options = new PricingOptions { RoundingByCurrency = new Dictionary<string, Serverless.Promotions.Engine.Money.RoundingMode> { ["EUR"] = Serverless.Promotions.Engine.Money.RoundingMode.HalfUp } };
        var basket = Basket(Line("1", "a", 1, 0.25m));
        var promotion = Item("p", new Reward.PercentOffItems(10m));

        // 10 % of 0.25 = 0.025: half-even → 0.02, half-up → 0.03.
        Assert.Equal(0.02m, Price(basket, promotion).ItemDiscount);
        Assert.Equal(0.03m, Price(basket, new PricingContext(Noon), options, promotion).ItemDiscount);
    }

    [Fact]
    public void Currencies_round_to_their_minor_units()
    {
        var promotion = Item("p", new Reward.PercentOffItems(15m));

        var yen = Price(new Basket("JPY", [Line("1", "a", 1, 999m)]), promotion);
        var dinar = Price(new Basket("KWD", [Line("1", "a", 1, 9.999m)]), promotion);

        Assert.Equal(150m, yen.ItemDiscount); // 149.85 → 150
        Assert.Equal(1.500m, dinar.ItemDiscount); // 1.49985 → 1.500
    }
}
