using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>An <see cref="ItemPredicate"/> compiled once: value lists become sorted attribute numbers, so matching a line is a few integer comparisons.</summary>
internal abstract class ItemMatcher
{
    public static readonly ItemMatcher Everything = new EverythingMatcher();

    public abstract bool Matches(LineFacts line);

    public static ItemMatcher Compile(ItemPredicate? predicate, AttributeIds ids) => predicate switch
    {
        null => Everything,
        ItemPredicate.Sku p => new SingleMatcher(Register(p.Values, IndexKind.Sku, ids), static line => line.Sku),
        ItemPredicate.Brand p => new SingleMatcher(Register(p.Values, IndexKind.Brand, ids), static line => line.Brand),
        ItemPredicate.Category p => new ManyMatcher(Register(p.Values, IndexKind.Category, ids), static line => line.Categories),
        ItemPredicate.Tag p => new ManyMatcher(Register(p.Values, IndexKind.Tag, ids), static line => line.Tags),
        ItemPredicate.PriceRange p => new PriceMatcher(p.Min, p.Max),
        ItemPredicate.AllOf p => new AllMatcher([.. p.Predicates.Select(part => Compile(part, ids))]),
        ItemPredicate.AnyOf p => new AnyMatcher([.. p.Predicates.Select(part => Compile(part, ids))]),
        ItemPredicate.Exclude p => new ExcludeMatcher(Compile(p.Predicate, ids)),
        _ => throw new NotSupportedException(predicate.GetType().Name),
    };

    private static int[] Register(IReadOnlyList<string> values, IndexKind kind, AttributeIds ids) =>
        [.. values.Select(value => ids.Register(kind, value)).Distinct().Order()];

    private static bool Contains(int[] sorted, int id) =>
        id >= 0 && (sorted.Length <= 8 ? Array.IndexOf(sorted, id) >= 0 : Array.BinarySearch(sorted, id) >= 0);

    private sealed class EverythingMatcher : ItemMatcher
    {
        public override bool Matches(LineFacts line) => true;
    }

    private sealed class SingleMatcher(int[] ids, Func<LineFacts, int> attribute) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => Contains(ids, attribute(line));
    }

    private sealed class ManyMatcher(int[] ids, Func<LineFacts, int[]> attribute) : ItemMatcher
    {
        public override bool Matches(LineFacts line)
        {
            foreach (var id in attribute(line))
            {
                if (Contains(ids, id))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class PriceMatcher(decimal? min, decimal? max) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => (min is null || line.UnitPrice >= min) && (max is null || line.UnitPrice <= max);
    }

    private sealed class AllMatcher(ItemMatcher[] parts) : ItemMatcher
    {
        public override bool Matches(LineFacts line)
        {
            foreach (var part in parts)
            {
                if (!part.Matches(line))
                {
                    return false;
                }
            }

            return true;
        }
    }

    private sealed class AnyMatcher(ItemMatcher[] parts) : ItemMatcher
    {
        public override bool Matches(LineFacts line)
        {
            foreach (var part in parts)
            {
                if (part.Matches(line))
                {
                    return true;
                }
            }

            return false;
        }
    }

    private sealed class ExcludeMatcher(ItemMatcher inner) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => !inner.Matches(line);
    }
}
