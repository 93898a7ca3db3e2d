using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;

namespace Promotions.Tests;

/// <summary>Seeded generators for property tests: every failure names its seed and replays exactly.</summary>
internal static class RandomBaskets
{
    private static readonly string[] Skus = ["a", "b", "c", "d", "e"];
    private static readonly string[] CategoryNames = ["x", "y"];

    public static Basket Basket(Random random, string currency = "EUR", int maxLines = 4)
    {
        var lines = new List<BasketLine>();
        var count = random.Next(1, maxLines + 1);
        var scale = currency == "JPY" ? 1m : currency == "KWD" ? 1000m : 100m;
        for (var i = 0; i < count; i++)
        {
            var sku = Skus[random.Next(Skus.Length)];
            var price = random.Next(1, 5000) / scale;
            lines.Add(new BasketLine($"l{i}", sku, random.Next(1, 4), price) { Categories = [CategoryNames[random.Next(2)]] });
        }

        return new Basket(currency, lines, random.Next(0, 3) == 0 ? 0m : random.Next(0, 1000) / scale);
    }

    public static List<PromotionDefinition> Promotions(Random random, int count)
    {
        var list = new List<PromotionDefinition>();
        for (var i = 0; i < count; i++)
        {
            var reward = RandomReward(random);
            var cls = reward switch
            {
                Reward.PercentOffOrder or Reward.AmountOffOrder or Reward.SpendTiers or Reward.SpendEvery => StackingClass.Order,
                Reward.ShippingDiscount => StackingClass.Shipping,
                _ => StackingClass.Item,
            };
            StackingClass[] all = [StackingClass.Item, StackingClass.Order, StackingClass.Shipping];
            list.Add(new PromotionDefinition
            {
                Id = $"p{i}",
                Name = $"p{i}",
                Priority = random.Next(0, 3),
                Class = cls,
                Exclusive = random.Next(0, 6) == 0,
                CombinesWith = random.Next(0, 4) == 0 ? [.. all.Where(_ => random.Next(2) == 0)] : all,
                StackingBase = random.Next(2) == 0 ? StackingBase.OriginalPrice : StackingBase.DiscountedPrice,
                MaxDiscount = random.Next(0, 5) == 0 ? random.Next(1, 20) : null,
                Conditions = random.Next(0, 5) == 0 ? [new Condition.MinimumSpend(random.Next(5, 80), random.Next(2) == 0 ? SpendBasis.Original : SpendBasis.Discounted)] : [],
                Rewards = [reward],
            });
        }

        return list;
    }

    private static ItemPredicate? Items(Random random) => random.Next(0, 3) switch
    {
        0 => null,
        1 => new ItemPredicate.Sku([Skus[random.Next(Skus.Length)], Skus[random.Next(Skus.Length)]]),
        _ => new ItemPredicate.Category([CategoryNames[random.Next(2)]]),
    };

    private static Reward RandomReward(Random random) => random.Next(0, 12) switch
    {
        0 => new Reward.PercentOffItems(random.Next(1, 60), Items(random)),
        1 => new Reward.AmountOffItems(random.Next(1, 10), Items(random)),
        2 => new Reward.FixedPricePerItem(random.Next(1, 20), Items(random)),
        3 => new Reward.PercentOffOrder(random.Next(1, 30), Items(random)),
        4 => new Reward.AmountOffOrder(random.Next(1, 30), Items(random)),
        5 => new Reward.SpendTiers([new SpendTier(20m, 3m), new SpendTier(50m, Percent: 10m)]),
        6 => new Reward.SpendEvery(25m, 4m, random.Next(1, 4)),
        7 => new Reward.BuyXGetY(random.Next(1, 3), 1, Items(random), random.Next(2) == 0 ? null : Items(random), (DiscountKind)random.Next(3), random.Next(1, 50), (UnitChoice)random.Next(2), random.Next(1, 3)),
        8 => new Reward.BundlePrice(random.Next(2, 4), random.Next(5, 40), Items(random), random.Next(1, 3)),
        9 => new Reward.NthItemDiscount(random.Next(2, 4), random.Next(10, 100), Items(random)),
        10 => new Reward.ShippingDiscount((DiscountKind)random.Next(3), random.Next(1, 60)),
        _ => new Reward.BuyXGetY(1, 1, Items(random)),
    };
}
