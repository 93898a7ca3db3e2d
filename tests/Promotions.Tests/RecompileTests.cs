using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Validation;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

/// <summary><see cref="PromotionSnapshot.Recompile"/>: a change costs what the changed promotions cost, and prices exactly as a full compile.</summary>
public sealed class RecompileTests
{
    private const string TestKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    public void After_any_sequence_of_changes_it_prices_every_basket_as_a_full_compile(int seed)
    {
        var random = new Random(seed);
        var definitions = RandomBaskets.Promotions(random, 40);
        var snapshot = PromotionSnapshot.Compile(definitions);
        var next = definitions.Count;
        for (var change = 0; change < 60; change++)
        {
            // Replace (new rewards, new skus, a new priority that moves its rank), remove or add.
            switch (random.Next(4))
            {
                case 0 when definitions.Count > 1:
                    definitions.RemoveAt(random.Next(definitions.Count));
                    break;
                case 1:
                    definitions.Add(RandomBaskets.Promotions(random, 1)[0] with { Id = $"n{next}", Name = $"n{next++}" });
                    break;
                case 2:
                    var at = random.Next(definitions.Count);
                    definitions[at] = definitions[at] with { Class = StackingClass.Item, Priority = random.Next(-5, 5), Rewards = [new Reward.PercentOffItems(random.Next(1, 50), Skus($"s{random.Next(8)}", "a"))] };
                    break;
                default:
                    var other = random.Next(definitions.Count);
                    definitions[other] = RandomBaskets.Promotions(random, 1)[0] with { Id = definitions[other].Id, Name = definitions[other].Name };
                    break;
            }

            // Even seeds keep the definitions in id order, as the service does (a merge finds what to take over); odd ones do not.
            if (seed % 2 == 0)
            {
                definitions.Sort((x, y) => string.CompareOrdinal(x.Id, y.Id));
            }

            snapshot = snapshot.Recompile(definitions);
            Assert.True(snapshot.TakenOver >= definitions.Count - 1, $"seed {seed}, change {change}: {snapshot.TakenOver} of {definitions.Count} taken over");
            var fresh = PromotionSnapshot.Compile(definitions);
            for (var b = 0; b < 5; b++)
            {
                var basket = RandomBaskets.Basket(random, maxLines: 5);
                basket = basket with { Lines = [.. basket.Lines, Line("extra", $"s{random.Next(8)}", 1, 5m)] };
                var context = new PricingContext(Noon);
                Assert.True(
                    JsonSerializer.Serialize(fresh.Calculate(basket, context)) == JsonSerializer.Serialize(snapshot.Calculate(basket, context)),
                    $"seed {seed}, change {change}, basket {b}");
            }
        }
    }

    [Fact]
    public void Only_the_changed_promotion_is_compiled_again()
    {
        var definitions = Enumerable.Range(0, 100).Select(i => Item($"p{i:D3}", new Reward.PercentOffItems(10m, Skus($"s{i}")), priority: i % 7)).ToList();
        var snapshot = PromotionSnapshot.Compile(definitions);

        // A higher priority moves the changed promotion to the front: the others change rank, not their compiled form.
        definitions[50] = definitions[50] with { Priority = 100, Rewards = [new Reward.PercentOffItems(20m, Skus("s50"))] };
        var next = snapshot.Recompile(definitions);

        Assert.Equal(99, next.TakenOver);
        Assert.Equal(2m, next.Calculate(Basket(Line("1", "s50", 1, 10m)), new PricingContext(Noon)).Lines[0].Saved());
        Assert.Equal(1m, next.Calculate(Basket(Line("1", "s7", 1, 10m)), new PricingContext(Noon)).Lines[0].Saved());

        // The previous snapshot is untouched: calculations still running on it see the old promotion.
        Assert.Equal(1m, snapshot.Calculate(Basket(Line("1", "s50", 1, 10m)), new PricingContext(Noon)).Lines[0].Saved());
    }

    [Fact]
    public void Nothing_changed_gives_the_same_snapshot()
    {
        var definitions = new[] { Item("a", new Reward.PercentOffItems(10m)), Order("b", new Reward.AmountOffOrder(2m)) };
        var snapshot = PromotionSnapshot.Compile(definitions);

        Assert.Same(snapshot, snapshot.Recompile([.. definitions]));
        Assert.NotSame(snapshot, snapshot.Recompile([definitions[0] with { }, definitions[1]]));
    }

    [Fact]
    public void A_changed_definition_is_validated_and_its_problems_have_their_paths()
    {
        var definitions = new List<PromotionDefinition> { Item("a", new Reward.PercentOffItems(10m)), Item("b", new Reward.PercentOffItems(5m)) };
        var snapshot = PromotionSnapshot.Compile(definitions);

        definitions[1] = definitions[1] with { Rewards = [new Reward.PercentOffItems(150m)] };
        var error = Assert.Throws<PromotionDefinitionException>(() => snapshot.Recompile(definitions));

        Assert.Contains(error.Problems, p => p.Path == "promotions[1].rewards[0].percent");
        Assert.Throws<PromotionDefinitionException>(() => snapshot.Recompile([definitions[0], definitions[0] with { }]));
    }

    [Fact]
    public void A_promotion_whose_coupon_batches_changed_is_compiled_again()
    {
        var xmas = Item("xmas", new Reward.PercentOffItems(10m)) with { Coupon = new CouponRequirement { Codes = ["STATIC"] } };
        var batch = new CouponBatch("b1", "xmas", "XMAS", 100, TestKey);
        var code = CouponCodes.Generate(batch, 7);
        var basket = Basket(Line("1", "a", 1, 10m));
        var withCode = new PricingContext(Noon) { Coupons = [code] };
        var snapshot = PromotionSnapshot.Compile([xmas], [batch]);
        Assert.Equal(1m, snapshot.Calculate(basket, withCode).TotalDiscount);

        var revoked = snapshot.Recompile([xmas], [batch with { Revoked = true }]);
        Assert.Equal(0, revoked.TakenOver);
        Assert.Equal(0m, revoked.Calculate(basket, withCode).TotalDiscount);

        var again = revoked.Recompile([xmas], [batch]);
        Assert.Equal(1m, again.Calculate(basket, withCode).TotalDiscount);
        Assert.Same(again, again.Recompile([xmas], [batch]));
        Assert.Equal(1, again.Recompile([xmas, Order("other", new Reward.AmountOffOrder(1m))], [batch]).TakenOver);
    }

    [Fact]
    public void Values_only_old_versions_mentioned_do_not_pile_up()
    {
        var definitions = new List<PromotionDefinition> { Item("moving", new Reward.PercentOffItems(10m, Skus("first"))) };
        definitions.AddRange(Enumerable.Range(0, 20).Select(i => Item($"fixed{i}", new Reward.AmountOffItems(1m, Skus($"f{i}")))));
        var snapshot = PromotionSnapshot.Compile(definitions);
        var basket = Basket(Line("1", "f3", 1, 10m), Line("2", "first", 1, 10m));

        var fresh = 0;
        for (var i = 0; i < 5000; i++)
        {
            definitions[0] = definitions[0] with { Rewards = [new Reward.PercentOffItems(10m, Skus($"sku{i}"))] };
            snapshot = snapshot.Recompile(definitions);
            Assert.True(snapshot.AttributeCount <= 21 + 1025, $"{snapshot.AttributeCount} values after {i + 1} changes");
            fresh += snapshot.TakenOver == 0 ? 1 : 0;
        }

        // Compiled afresh (nothing taken over) every 1,025 or so edits; otherwise the 20 unchanged promotions are taken over.
        Assert.InRange(fresh, 4, 5);
        Assert.Equal(
            JsonSerializer.Serialize(PromotionSnapshot.Compile(definitions).Calculate(basket, new PricingContext(Noon))),
            JsonSerializer.Serialize(snapshot.Calculate(basket, new PricingContext(Noon))));

        // An old sku no longer triggers anything; the current one and the unchanged promotions still do.
        var result = snapshot.Calculate(basket with { Lines = [.. basket.Lines, Line("3", "sku4999", 1, 10m)] }, new PricingContext(Noon));
        Assert.Equal(["fixed3", "moving"], result.Promotions.Where(p => p.Applied).Select(p => p.PromotionId));
        Assert.Equal(0m, result.LineOf("2").Saved());
        Assert.Equal(1m, result.LineOf("3").Saved());
    }
}

internal static class LineSavings
{
    public static decimal Saved(this Serverless.Promotions.Engine.Results.LineResult line) => line.OriginalTotal - line.FinalTotal;
}
