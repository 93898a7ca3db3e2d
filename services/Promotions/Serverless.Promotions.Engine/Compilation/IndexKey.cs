using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Compilation;

internal enum IndexKind
{
    Sku,
    Category,
    Brand,
    Tag,
}

/// <summary>A line attribute under which a promotion is filed in the snapshot's index.</summary>
internal readonly record struct IndexKey(IndexKind Kind, string Value)
{
    /// <summary>
    /// Keys such that a line can only match <paramref name="predicate"/> if it carries one of them; null when no such set
    /// exists (no predicate, price ranges, exclusions at the top) and the promotion must be looked at for every basket.
    /// </summary>
    public static List<IndexKey>? For(ItemPredicate? predicate)
    {
        switch (predicate)
        {
            case ItemPredicate.Sku p:
                return [.. p.Values.Select(v => new IndexKey(IndexKind.Sku, v))];
            case ItemPredicate.Category p:
                return [.. p.Values.Select(v => new IndexKey(IndexKind.Category, v))];
            case ItemPredicate.Brand p:
                return [.. p.Values.Select(v => new IndexKey(IndexKind.Brand, v))];
            case ItemPredicate.Tag p:
                return [.. p.Values.Select(v => new IndexKey(IndexKind.Tag, v))];
            case ItemPredicate.AllOf p:
                // Every part must match, so any one indexable part is enough: take the narrowest.
                return p.Predicates.Select(For).Where(keys => keys is not null).OrderBy(keys => keys!.Count).FirstOrDefault();
            case ItemPredicate.AnyOf p:
                var union = new List<IndexKey>();
                foreach (var part in p.Predicates)
                {
                    if (For(part) is not { } keys)
                    {
                        return null;
                    }

                    union.AddRange(keys);
                }

                return union;
            default:
                return null;
        }
    }
}

/// <summary>Where the snapshot files a promotion.</summary>
internal static class IndexKeys
{
    /// <summary>
    /// A promotion needs a line matching every condition's item predicate and some reward's target, so one indexable
    /// condition predicate is enough; otherwise every reward must be indexable (the union of their keys). Null: the
    /// promotion is looked at for every basket.
    /// </summary>
    public static List<IndexKey>? Of(PromotionDefinition definition)
    {
        foreach (var condition in definition.Conditions)
        {
            var items = condition switch
            {
                Condition.MinimumQuantity { Quantity: > 0 } q => q.Items,
                Condition.MinimumSpend { Amount: > 0 } s => s.Items,
                _ => null,
            };
            if (IndexKey.For(items) is { } keys)
            {
                return keys;
            }
        }

        var union = new List<IndexKey>();
        foreach (var reward in definition.Rewards)
        {
            var keys = reward switch
            {
                Reward.PercentOffItems r => IndexKey.For(r.Items),
                Reward.AmountOffItems r => IndexKey.For(r.Items),
                Reward.FixedPricePerItem r => IndexKey.For(r.Items),
                Reward.BuyXGetY r => IndexKey.For(r.Buy),
                Reward.BundlePrice r => IndexKey.For(r.Items),
                Reward.NthItemDiscount r => IndexKey.For(r.Items),
                Reward.MemberPrice r => [.. r.Prices.Select(p => new IndexKey(IndexKind.Sku, p.Sku))],
                Reward.PercentOffOrder r => IndexKey.For(r.Items),
                Reward.AmountOffOrder r => IndexKey.For(r.Items),
                Reward.SpendTiers r => IndexKey.For(r.Items),
                Reward.SpendEvery r => IndexKey.For(r.Items),
                _ => null,
            };
            if (keys is null)
            {
                return null;
            }

            union.AddRange(keys);
        }

        return union.Count > 0 ? union : null;
    }
}
