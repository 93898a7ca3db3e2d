using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>An <see cref="ItemPredicate"/> compiled once: value lists become sorted attribute numbers, so matching a line is a few integer comparisons.</summary>
internal abstract class ItemMatcher
{
    public static readonly ItemMatcher Everything = new EverythingMatcher();

    public abstract bool Matches(LineFacts line);

    /// <summary>
    /// Writes the indices of the matching lines among the first <paramref name="lineCount"/> into <paramref name="found"/>
    /// and returns how many. The common single-attribute matchers override this with a loop that makes no virtual call
    /// per line: every candidate's lines are found this way once per calculation.
    /// </summary>
    public virtual int MatchLines(LineFacts[] facts, int lineCount, Span<int> found)
    {
        var count = 0;
        for (var i = 0; i < lineCount; i++)
        {
            if (Matches(facts[i]))
            {
                found[count++] = i;
            }
        }

        return count;
    }

    public static ItemMatcher Compile(ItemPredicate? predicate, AttributeIds ids) => predicate switch
    {
        null => Everything,
        ItemPredicate.Sku p => new SkuMatcher(Register(p.Values, IndexKind.Sku, ids)),
        ItemPredicate.Brand p => new BrandMatcher(Register(p.Values, IndexKind.Brand, ids)),
        ItemPredicate.Category p => new CategoryMatcher(Register(p.Values, IndexKind.Category, ids)),
        ItemPredicate.Tag p => new TagMatcher(Register(p.Values, IndexKind.Tag, ids)),
        ItemPredicate.PriceRange p => new PriceMatcher(p.Min, p.Max),
        ItemPredicate.AllOf p => new AllMatcher([.. p.Predicates.Select(part => Compile(part, ids))]),
        ItemPredicate.AnyOf p => new AnyMatcher([.. p.Predicates.Select(part => Compile(part, ids))]),
        ItemPredicate.Exclude p => new ExcludeMatcher(Compile(p.Predicate, ids)),
        _ => throw new NotSupportedException(predicate.GetType().Name),
    };

    private static int[] Register(IReadOnlyList<string> values, IndexKind kind, AttributeIds ids) =>
        [.. values.Select(value => ids.Register(kind, value)).Distinct().Order()];

    private static bool Contains(int[] sorted, int id)
    {
        if (id < 0)
        {
            return false;
        }

        if (sorted.Length > 8)
        {
            return Array.BinarySearch(sorted, id) >= 0;
        }

        // A plain loop: for one to eight values it beats the vectorised search's setup.
        foreach (var value in sorted)
        {
            if (value == id)
            {
                return true;
            }
        }

        return false;
    }

    private static bool ContainsAny(int[] sorted, int[] ids)
    {
        foreach (var id in ids)
        {
            if (Contains(sorted, id))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class EverythingMatcher : ItemMatcher
    {
        public override bool Matches(LineFacts line) => true;
    }

    private sealed class SkuMatcher(int[] ids) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => Contains(ids, line.Sku);

        public override int MatchLines(LineFacts[] facts, int lineCount, Span<int> found)
        {
            var count = 0;
            for (var i = 0; i < lineCount; i++)
            {
                if (Contains(ids, facts[i].Sku))
                {
                    found[count++] = i;
                }
            }

            return count;
        }
    }

    private sealed class BrandMatcher(int[] ids) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => Contains(ids, line.Brand);

        public override int MatchLines(LineFacts[] facts, int lineCount, Span<int> found)
        {
            var count = 0;
            for (var i = 0; i < lineCount; i++)
            {
                if (Contains(ids, facts[i].Brand))
                {
                    found[count++] = i;
                }
            }

            return count;
        }
    }

    private sealed class CategoryMatcher(int[] ids) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => ContainsAny(ids, line.Categories);

        public override int MatchLines(LineFacts[] facts, int lineCount, Span<int> found)
        {
            var count = 0;
            for (var i = 0; i < lineCount; i++)
            {
                if (ContainsAny(ids, facts[i].Categories))
                {
                    found[count++] = i;
                }
            }

            return count;
        }
    }

    private sealed class TagMatcher(int[] ids) : ItemMatcher
    {
        public override bool Matches(LineFacts line) => ContainsAny(ids, line.Tags);
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
