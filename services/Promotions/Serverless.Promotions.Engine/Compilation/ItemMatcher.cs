using System.Collections.Frozen;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>An <see cref="ItemPredicate"/> compiled once: string lists become frozen sets so matching a line is a few lookups.</summary>
internal abstract class ItemMatcher
{
    public static readonly ItemMatcher Everything = new EverythingMatcher();

    public abstract bool Matches(BasketLine line);

    public static ItemMatcher Compile(ItemPredicate? predicate) => predicate switch
    {
        null => Everything,
        ItemPredicate.Sku p => new SetMatcher(p.Values, static (line, set) => set.Contains(line.Sku)),
        ItemPredicate.Brand p => new SetMatcher(p.Values, static (line, set) => line.Brand is not null && set.Contains(line.Brand)),
        ItemPredicate.Category p => new SetMatcher(p.Values, static (line, set) => ContainsAny(set, line.Categories)),
        ItemPredicate.Tag p => new SetMatcher(p.Values, static (line, set) => ContainsAny(set, line.Tags)),
        ItemPredicate.PriceRange p => new PriceMatcher(p.Min, p.Max),
        ItemPredicate.AllOf p => new AllMatcher([.. p.Predicates.Select(Compile)]),
        ItemPredicate.AnyOf p => new AnyMatcher([.. p.Predicates.Select(Compile)]),
        ItemPredicate.Exclude p => new NotMatcher(Compile(p.Predicate)),
        _ => throw new NotSupportedException(predicate.GetType().Name),
    };

    private static bool ContainsAny(FrozenSet<string> set, IReadOnlyList<string> values)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (set.Contains(values[i]))
            {
                return true;
            }
        }

        return false;
    }

    private sealed class EverythingMatcher : ItemMatcher
    {
        public override bool Matches(BasketLine line) => true;
    }

    private sealed class SetMatcher(IEnumerable<string> values, Func<BasketLine, FrozenSet<string>, bool> test) : ItemMatcher
    {
        private readonly FrozenSet<string> _set = values.ToFrozenSet(StringComparer.Ordinal);

        public override bool Matches(BasketLine line) => test(line, _set);
    }

    private sealed class PriceMatcher(decimal? min, decimal? max) : ItemMatcher
    {
        public override bool Matches(BasketLine line) => (min is null || line.UnitPrice >= min) && (max is null || line.UnitPrice <= max);
    }

    private sealed class AllMatcher(ItemMatcher[] parts) : ItemMatcher
    {
        public override bool Matches(BasketLine line) => Array.TrueForAll(parts, part => part.Matches(line));
    }

    private sealed class AnyMatcher(ItemMatcher[] parts) : ItemMatcher
    {
        public override bool Matches(BasketLine line) => Array.Exists(parts, part => part.Matches(line));
    }

    private sealed class NotMatcher(ItemMatcher inner) : ItemMatcher
    {
        public override bool Matches(BasketLine line) => !inner.Matches(line);
    }
}
