using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

/// <summary>Buy X get Y, mix-and-match bundles and Nth-item discounts: rewards that use up units.</summary>
public sealed class UnitRewardTests
{
    [Fact]
    public void Buy_two_get_one_free_on_one_line_reports_the_free_unit_separately()
    {
        var result = Price(Basket(Line("1", "soap", 3, 10m)), Item("b2g1", new Reward.BuyXGetY(2, 1)));

        var line = result.LineOf("1");
        Assert.Equal(10m, result.ItemDiscount);
        Assert.Equal(new LineAdjustment("b2g1", 10m, 1), Assert.Single(line.Adjustments));
        Assert.Equal([new UnitPriceGroup(2, 10m), new UnitPriceGroup(1, 0m)], line.Units);
    }

    [Fact]
    public void Buy_one_get_one_discounts_the_cheaper_unit_of_each_pair_by_price()
    {
        // Sorted 10, 9, 8, 7: pairs (10, 9) and (8, 7): the 9 and the 7 are free.
        var result = Price(
            Basket(Line("1", "a", 1, 10m), Line("2", "b", 1, 9m), Line("3", "c", 1, 8m), Line("4", "d", 1, 7m)),
            Item("bogo", new Reward.BuyXGetY(1, 1)));

        Assert.Equal(16m, result.ItemDiscount);
    }

    [Fact]
    public void Buy_one_get_one_half_price_on_the_most_expensive()
    {
        var result = Price(
            Basket(Line("1", "a", 1, 10m), Line("2", "b", 1, 6m)),
            Item("p", new Reward.BuyXGetY(1, 1, Discount: DiscountKind.Percent, Value: 50m, Choose: UnitChoice.MostExpensive)));

        Assert.Equal(5m, result.ItemDiscount);
    }

    [Fact]
    public void Buy_x_get_y_repeats_up_to_its_maximum()
    {
        var result = Price(Basket(Line("1", "a", 10, 5m)), Item("p", new Reward.BuyXGetY(1, 1, MaxApplications: 2)));

        Assert.Equal(10m, result.ItemDiscount);
        Assert.Equal([new UnitPriceGroup(8, 5m), new UnitPriceGroup(2, 0m)], result.LineOf("1").Units);
    }

    [Fact]
    public void Buy_a_suit_get_the_cheapest_tie_for_amount_off()
    {
        var reward = new Reward.BuyXGetY(1, 1, Skus("suit"), Categories("ties"), DiscountKind.Amount, 15m);
        var result = Price(
            Basket(Line("1", "suit", 1, 300m), Line("2", "silk", 1, 40m, "ties"), Line("3", "knit", 1, 25m, "ties")),
            Item("p", reward));

        Assert.Equal(15m, result.ItemDiscount);
        Assert.Single(result.LineOf("3").Adjustments);
    }

    [Fact]
    public void Buy_x_get_y_without_the_get_item_gives_nothing()
    {
        var reward = new Reward.BuyXGetY(1, 1, Skus("suit"), Categories("ties"));
        var result = Price(Basket(Line("1", "suit", 1, 300m)), Item("p", reward));

        Assert.Equal(0m, result.ItemDiscount);
        Assert.Equal(OutcomeReason.NoMatchingItems, result.Outcome("p").Reason);
    }

    [Fact]
    public void Buy_a_shoe_get_a_sock_with_one_sock_left_frees_the_sock_and_never_a_shoe()
    {
        // Found by review: with fewer "get" units than an application needs, the application was filled up with "buy"
        // units and those were discounted (a 50.00 shoe became free).
        var reward = new Reward.BuyXGetY(1, 1, Categories("shoes"), Categories("socks"));
        var result = Price(Basket(Line("1", "shoe", 3, 50m, "shoes"), Line("2", "sock", 1, 5m, "socks")), Item("bx1", reward));

        Assert.Equal(5m, result.ItemDiscount);
        Assert.Equal(150m, result.LineOf("1").FinalTotal);
        Assert.Empty(result.LineOf("1").Adjustments);
        Assert.Equal(new LineAdjustment("bx1", 5m, 1), Assert.Single(result.LineOf("2").Adjustments));
    }

    [Fact]
    public void Buy_x_get_y_with_fewer_get_units_than_one_application_needs_gives_nothing()
    {
        // "Buy 1 shoe, get 2 socks free" with one sock: an application needs Y real "get" units, so none applies.
        var reward = new Reward.BuyXGetY(1, 2, Categories("shoes"), Categories("socks"));
        var result = Price(Basket(Line("1", "shoe", 3, 50m, "shoes"), Line("2", "sock", 1, 5m, "socks")), Item("bx2", reward));

        Assert.Equal(0m, result.ItemDiscount);
        Assert.False(result.Outcome("bx2").Applied);
        Assert.All(result.Lines, line => Assert.Empty(line.Adjustments));
    }

    [Fact]
    public void Buy_x_get_y_with_separate_sets_stops_when_the_get_units_run_out()
    {
        // Two socks, three shoes, buy 1 get 1: two applications (two socks free); the third shoe stays full price.
        var reward = new Reward.BuyXGetY(1, 1, Categories("shoes"), Categories("socks"));
        var result = Price(Basket(Line("1", "shoe", 3, 50m, "shoes"), Line("2", "sock", 2, 5m, "socks")), Item("bx3", reward));

        Assert.Equal(10m, result.ItemDiscount);
        Assert.Empty(result.LineOf("1").Adjustments);
        Assert.Equal([new UnitPriceGroup(2, 0m)], result.LineOf("2").Units);
    }

    [Fact]
    public void Any_three_for_ten_bundles_the_dearest_units_first_and_repeats()
    {
        // Units 6, 5, 4, 4, 3, 1, 1: bundles (6, 5, 4) = 15 → 10 and (4, 3, 1) = 8 ≤ 10 → stop.
        var result = Price(
            Basket(Line("1", "a", 1, 6m), Line("2", "b", 1, 5m), Line("3", "c", 2, 4m), Line("4", "d", 1, 3m), Line("5", "e", 2, 1m)),
            Item("3for10", new Reward.BundlePrice(3, 10m)));

        Assert.Equal(5m, result.ItemDiscount);

        // 5.00 over 6, 5, 4 by largest remainder: 2.00, 1.67, 1.33.
        Assert.Equal(2.00m, result.LineOf("1").Adjustments.Single().Amount);
        Assert.Equal(1.67m, result.LineOf("2").Adjustments.Single().Amount);
        Assert.Equal(1.33m, result.LineOf("3").Adjustments.Single().Amount);
    }

    [Fact]
    public void Every_second_item_half_price_discounts_the_cheaper_of_each_pair()
    {
        var result = Price(Basket(Line("1", "a", 1, 20m), Line("2", "b", 1, 10m), Line("3", "c", 1, 8m)), Item("p", new Reward.NthItemDiscount(2, 50m)));

        Assert.Equal(5m, result.ItemDiscount);
    }

    [Fact]
    public void Units_used_by_one_unit_reward_are_not_used_again()
    {
        // Both want the same four units: the bundle (higher priority) saves 10, buy-one-get-one saves 20.
        // Units cannot be shared, so the best deal is buy-one-get-one alone despite its lower priority.
        var result = Price(
            Basket(Line("1", "a", 4, 10m)),
            Item("bundle", new Reward.BundlePrice(4, 30m), priority: 5),
            Item("bogo", new Reward.BuyXGetY(1, 1)));

        Assert.Equal(20m, result.ItemDiscount);
        Assert.True(result.Outcome("bogo").Applied);
        Assert.Equal(OutcomeReason.LostBestDeal, result.Outcome("bundle").Reason);
        Assert.Equal("bogo", result.Outcome("bundle").RelatedPromotionId);
    }
}
