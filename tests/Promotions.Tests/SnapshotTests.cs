using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class SnapshotTests
{
    [Fact]
    public void Definitions_serialise_with_type_discriminators_and_read_back_equal()
    {
        var definition = Item("bogo", new Reward.BuyXGetY(1, 1, new ItemPredicate.AllOf([Categories("shoes"), new ItemPredicate.Exclude(new ItemPredicate.Brand(["luxe"]))]))) with
        {
            Validity = new PromotionValidity { TimeZone = "Europe/Berlin", DayParts = [new DayPart([DayOfWeek.Saturday], new TimeOnly(10, 0), new TimeOnly(14, 0))] },
            Conditions = [new Condition.MinimumSpend(50m, SpendBasis.Discounted)],
        };

        var json = PromotionJson.Serialize([definition]);
        var back = Assert.Single(PromotionJson.Deserialize(json));

        Assert.Contains("\"type\":\"buyXGetY\"", json, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"exclude\"", json, StringComparison.Ordinal);
        Assert.Contains("\"class\":\"Item\"", json, StringComparison.Ordinal);
        Assert.Equal(json, PromotionJson.Serialize([back]));
    }

    [Fact]
    public void Only_promotions_a_basket_can_trigger_are_looked_at()
    {
        var promotions = Enumerable.Range(0, 1000)
            .Select(i => Item($"sku-{i}", new Reward.PercentOffItems(10m, Skus($"s{i}"))))
            .Append(Order("order", new Reward.AmountOffOrder(1m)))
            .Append(Item("priced", new Reward.PercentOffItems(5m, new ItemPredicate.PriceRange(1000m, null))))
            .ToList();
        var snapshot = PromotionSnapshot.Compile(promotions);

        var result = snapshot.Calculate(Basket(Line("1", "s7", 1, 10m), Line("2", "s9", 1, 10m)), new PricingContext(Noon));

        Assert.Equal(2, snapshot.AnyBasketCount);
        Assert.Equal(["order", "priced", "sku-7", "sku-9"], result.Promotions.Select(p => p.PromotionId));
    }

    [Fact]
    public void A_condition_predicate_is_enough_to_index_a_promotion()
    {
        var promotion = Order("p", new Reward.AmountOffOrder(5m)) with { Conditions = [new Condition.MinimumQuantity(1, new ItemPredicate.Brand(["acme"]))] };
        var snapshot = PromotionSnapshot.Compile([promotion]);

        Assert.Equal(0, snapshot.AnyBasketCount);
        Assert.Empty(snapshot.Calculate(Basket(Line("1", "a", 1, 10m)), new PricingContext(Noon)).Promotions);
        Assert.Equal(5m, snapshot.Calculate(Basket(Line("1", "a", 1, 10m, brand: "acme")), new PricingContext(Noon)).OrderDiscount);
    }

    [Fact]
    public void Calculation_is_safe_from_many_threads()
    {
        var snapshot = PromotionSnapshot.Compile([Item("p", new Reward.BuyXGetY(1, 1)), Order("o", new Reward.PercentOffOrder(10m))]);
        var basket = Basket(Line("1", "a", 4, 10m));
        var expected = snapshot.Calculate(basket, new PricingContext(Noon)).Total;

        var totals = Enumerable.Range(0, 2000).AsParallel().Select(_ => snapshot.Calculate(basket, new PricingContext(Noon)).Total).Distinct().ToList();

        Assert.Equal([expected], totals);
    }
}
