using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

/// <summary>Invariants over random baskets and promotion sets (seeded, so a failure names its replayable seed).</summary>
public sealed class InvariantPropertyTests
{
    [Theory]
    [InlineData("EUR")]
    [InlineData("JPY")]
    [InlineData("KWD")]
    public void Totals_add_up_never_go_negative_and_are_in_minor_units(string currency)
    {
        var minorUnits = CurrencyTable.MinorUnits(currency);
        for (var seed = 0; seed < 400; seed++)
        {
            var random = new Random(seed);
            var basket = RandomBaskets.Basket(random, currency, maxLines: 6);
            var options = new PricingOptions
            {
                MaxOrderDiscount = random.Next(3) == 0 ? random.Next(1, 30) : null,
                Rounding = random.Next(2) == 0 ? RoundingMode.HalfEven : RoundingMode.HalfUp,
            };
            var result = PromotionSnapshot.Compile(RandomBaskets.Promotions(random, random.Next(1, 10)), options).Calculate(basket, new PricingContext(Noon));
            var because = $"seed {seed} ({currency})";

            Assert.True(result.Total >= 0, because);
            Assert.True(result.ShippingDiscount <= result.ShippingAmount, because);
            Assert.Equal(result.Subtotal - result.ItemDiscount - result.OrderDiscount + result.ShippingAmount - result.ShippingDiscount, result.Total);
            Assert.Equal(result.ItemDiscount + result.OrderDiscount, result.Lines.Sum(l => l.Adjustments.Sum(a => a.Amount)));
            if (options.MaxOrderDiscount is { } cap)
            {
                Assert.True(result.ItemDiscount + result.OrderDiscount <= cap, because);
            }

            foreach (var line in result.Lines)
            {
                Assert.True(line.FinalTotal >= 0, because);
                Assert.Equal(line.Quantity, line.Units.Sum(u => u.Quantity));
                Assert.All(line.Units, u => Assert.True(u.UnitPrice >= 0, because));
                Assert.All(line.Adjustments, a => Assert.Equal(decimal.Round(a.Amount, minorUnits), a.Amount));
            }

            // Per promotion: its line amounts sum exactly to its reported saving (order discounts allocated by largest remainder).
            foreach (var outcome in result.Promotions.Where(p => p.Applied))
            {
                var onLines = result.Lines.Sum(l => l.Adjustments.Where(a => a.PromotionId == outcome.PromotionId).Sum(a => a.Amount));
                var shipping = result.ShippingDiscount > 0 && onLines == 0 ? outcome.Saving : 0m;
                Assert.True(onLines + shipping == outcome.Saving || outcome.Saving == 0, because);
            }
        }
    }

    /// <summary>
    /// Found by review: a buy-X-get-Y with separate "buy" and "get" sets discounted "buy" units when too few "get"
    /// units were left. Whatever else applies, a unit that matches only the "buy" set is never discounted by it.
    /// </summary>
    [Fact]
    public void A_buy_x_get_y_with_separate_sets_never_discounts_a_unit_that_matches_only_the_buy_set()
    {
        var discountedGetUnits = 0;
        for (var seed = 0; seed < 1500; seed++)
        {
            var random = new Random(seed);
            var basket = RandomBaskets.Basket(random, maxLines: 6);
            var buy = Predicate(random);
            var get = Predicate(random);
            var bxgy = Item("bxgy", new Reward.BuyXGetY(random.Next(1, 4), random.Next(1, 4), buy, get, (DiscountKind)random.Next(3), random.Next(1, 60), (UnitChoice)random.Next(2), random.Next(0, 2) == 0 ? null : random.Next(1, 3)), priority: random.Next(0, 3)) with
            {
                StackingBase = random.Next(2) == 0 ? StackingBase.OriginalPrice : StackingBase.DiscountedPrice,
            };
            var others = RandomBaskets.Promotions(random, random.Next(0, 4));
            var result = PromotionSnapshot.Compile([.. others, bxgy]).Calculate(basket, new PricingContext(Noon));

            foreach (var line in basket.Lines)
            {
                var adjustment = result.LineOf(line.LineId).Adjustments.Where(a => a.PromotionId == "bxgy").Sum(a => a.Amount);
                if (Matches(buy, line) && !Matches(get, line))
                {
                    Assert.True(adjustment == 0m, $"seed {seed}: line {line.LineId} ({line.Sku}, {string.Join(",", line.Categories)}) matches only the buy set and got {adjustment} off");
                }
                else if (adjustment > 0m)
                {
                    discountedGetUnits++;
                }
            }
        }

        Assert.True(discountedGetUnits > 200, $"only {discountedGetUnits} discounted get lines: the property hardly ran");
    }

    private static ItemPredicate Predicate(Random random) => random.Next(2) == 0
        ? new ItemPredicate.Sku([RandomSku(random), RandomSku(random)])
        : new ItemPredicate.Category([random.Next(2) == 0 ? "x" : "y"]);

    private static string RandomSku(Random random) => ((char)('a' + random.Next(5))).ToString();

    private static bool Matches(ItemPredicate predicate, BasketLine line) => predicate switch
    {
        ItemPredicate.Sku sku => sku.Values.Contains(line.Sku),
        ItemPredicate.Category category => category.Values.Any(line.Categories.Contains),
        _ => throw new NotSupportedException(predicate.GetType().Name),
    };

    [Fact]
    public void Largest_remainder_parts_sum_exactly_and_stay_within_each_weight()
    {
        for (var seed = 0; seed < 2000; seed++)
        {
            var random = new Random(seed);
            var weights = Enumerable.Range(0, random.Next(1, 12)).Select(_ => (long)random.Next(0, 10000)).ToArray();
            var weightSum = weights.Sum();
            var total = (long)(weightSum * random.NextDouble());
            var parts = new long[weights.Length];

            LargestRemainder.Allocate(total, weights, parts);

            Assert.Equal(weightSum == 0 ? 0 : total, parts.Sum());
            for (var i = 0; i < weights.Length; i++)
            {
                Assert.InRange(parts[i], 0L, weights[i]);
            }
        }
    }

    [Fact]
    public void Results_are_identical_after_a_json_round_trip_of_the_snapshot()
    {
        for (var seed = 0; seed < 200; seed++)
        {
            var random = new Random(seed);
            var basket = RandomBaskets.Basket(random);
            var snapshot = PromotionSnapshot.Compile(RandomBaskets.Promotions(random, random.Next(1, 10)));
            var offline = PromotionSnapshot.FromJson(snapshot.ToJson());

            var online = snapshot.Calculate(basket, new PricingContext(Noon));
            var pos = offline.Calculate(basket, new PricingContext(Noon));

            Assert.Equal(Describe(online), Describe(pos));
        }
    }

    private static string Describe(PricingResult result) =>
        System.Text.Json.JsonSerializer.Serialize(result);
}
