using System.Collections.Frozen;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>
/// A definition prepared for fast evaluation: time zone resolved, local start/end turned into instants, lists into sets,
/// predicates into matchers. Immutable and independent of its place in a snapshot, so a snapshot compiled again after a
/// change shares it with its predecessor.
/// </summary>
internal sealed class CompiledPromotion
{
    public CompiledPromotion(PromotionDefinition definition, AttributeIds ids, CouponBatchCodes[]? couponBatches = null)
    {
        Definition = definition;
        var validity = definition.Validity;
        Zone = TimeZoneInfo.FindSystemTimeZoneById(validity?.TimeZone ?? "UTC");
        StartUtc = validity?.Start is { } start ? PromotionValidity.ToInstant(start, Zone) : null;
        EndUtc = validity?.End is { } end ? PromotionValidity.ToInstant(end, Zone) : null;
        DayParts = validity?.DayParts ?? [];
        var targeting = definition.Targeting;
        Channels = targeting?.Channels is { Count: > 0 } channels ? [.. channels] : null;
        StoreIds = ToSet(targeting?.StoreIds);
        Regions = ToSet(targeting?.Regions);
        Segments = ToSet(targeting?.Segments);
        MemberTiers = ToSet(targeting?.MemberTiers);
        CouponCodes = definition.Coupon is null ? null : definition.Coupon.Codes.ToFrozenSet(StringComparer.OrdinalIgnoreCase);
        CouponBatches = couponBatches is { Length: > 0 } && definition.Coupon is not null ? couponBatches : null;
        Conditions = [.. definition.Conditions.Select(c => new CompiledCondition(c, ids))];
        Rewards = [.. definition.Rewards.Select(r => new CompiledReward(r, ids))];
        CombinesWithMask = definition.CombinesWith.Aggregate(0, (mask, cls) => mask | (1 << (int)cls));
        ConsumesUnits = Rewards.Any(r => r.ConsumesUnits);
        MaxDiscountMinor = definition.MaxDiscount is { } max ? new MinorTable(max, floor: true) : null;
        DependsOnDiscountedPrices = Conditions.Any(c => c.Definition is Condition.MinimumSpend { Basis: SpendBasis.Discounted })
            || definition.Rewards.Any(r => r is Reward.SpendTiers { Basis: SpendBasis.Discounted } or Reward.SpendEvery { Basis: SpendBasis.Discounted });
        UnitLevelOnly = !DependsOnDiscountedPrices && definition.Rewards.All(r => r is Reward.PercentOffItems or Reward.AmountOffItems
            or Reward.FixedPricePerItem or Reward.MemberPrice or Reward.BuyXGetY or Reward.BundlePrice or Reward.NthItemDiscount);

        // The matchers above registered every value the keys name.
        IndexAttributes = IndexKeys.Of(definition) is { } keys ? [.. keys.Select(key => ids.Find(key.Kind, key.Value)).Distinct()] : null;
    }

    /// <summary>Whether this was compiled with exactly these batches (the non-revoked ones of the promotion, in order).</summary>
    public bool HasBatches(CouponBatch[]? batches)
    {
        var mine = CouponBatches ?? [];
        var theirs = batches is { Length: > 0 } && Definition.Coupon is not null ? batches : [];
        if (mine.Length != theirs.Length)
        {
            return false;
        }

        for (var i = 0; i < mine.Length; i++)
        {
            if (mine[i].Batch != theirs[i])
            {
                return false;
            }
        }

        return true;
    }

    public PromotionDefinition Definition { get; }

    public string Id => Definition.Id;

    /// <summary>
    /// The attribute numbers under which the snapshot files this promotion (a line must carry one of them for it to
    /// apply); null when it must be looked at for every basket. See <see cref="IndexKeys.Of"/>.
    /// </summary>
    public int[]? IndexAttributes { get; }

    public TimeZoneInfo Zone { get; }

    public DateTimeOffset? StartUtc { get; }

    public DateTimeOffset? EndUtc { get; }

    public IReadOnlyList<DayPart> DayParts { get; }

    public HashSet<Definitions.SalesChannel>? Channels { get; }

    public FrozenSet<string>? StoreIds { get; }

    public FrozenSet<string>? Regions { get; }

    public FrozenSet<string>? Segments { get; }

    public FrozenSet<string>? MemberTiers { get; }

    /// <summary>Static codes (any case); null when the promotion needs no coupon.</summary>
    public FrozenSet<string>? CouponCodes { get; }

    /// <summary>The promotion's coupon batches that are not revoked; null when it has none.</summary>
    public CouponBatchCodes[]? CouponBatches { get; }

    public CompiledCondition[] Conditions { get; }

    public CompiledReward[] Rewards { get; }

    public int CombinesWithMask { get; }

    /// <summary>The promotion's own cap floored to the currency, in minor units; null = uncapped.</summary>
    public MinorTable? MaxDiscountMinor { get; }

    public bool ConsumesUnits { get; }

    /// <summary>Its conditions or tiers measure the discounted subtotal, so earlier promotions can disqualify it.</summary>
    public bool DependsOnDiscountedPrices { get; }

    /// <summary>
    /// Every reward works on the units of its own lines (no order, spend, shipping or gift reward) and no condition
    /// measures the discounted basket: applying it reads and writes only its lines' units (see PricingState.PreApply).
    /// </summary>
    public bool UnitLevelOnly { get; }

    public bool CombinesWith(CompiledPromotion other) =>
        !Definition.Exclusive && !other.Definition.Exclusive
        && (CombinesWithMask & (1 << (int)other.Definition.Class)) != 0
        && (other.CombinesWithMask & (1 << (int)Definition.Class)) != 0;

    private static FrozenSet<string>? ToSet(IReadOnlyList<string>? values) =>
        values is { Count: > 0 } ? values.ToFrozenSet(StringComparer.Ordinal) : null;
}

internal sealed class CompiledCondition(Condition definition, AttributeIds ids)
{
    public Condition Definition { get; } = definition;

    public ItemMatcher Items { get; } = ItemMatcher.Compile(definition switch
    {
        Condition.MinimumSpend s => s.Items,
        Condition.MinimumQuantity q => q.Items,
        _ => null,
    }, ids);
}

internal sealed class CompiledReward
{
    public CompiledReward(Reward definition, AttributeIds ids)
    {
        Definition = definition;
        (Target, Get) = definition switch
        {
            Reward.PercentOffItems r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.AmountOffItems r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.FixedPricePerItem r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.PercentOffOrder r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.AmountOffOrder r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.SpendTiers r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.SpendEvery r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.BuyXGetY r => (ItemMatcher.Compile(r.Buy, ids), r.Get is null ? null : ItemMatcher.Compile(r.Get, ids)),
            Reward.BundlePrice r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.NthItemDiscount r => (ItemMatcher.Compile(r.Items, ids), null),
            Reward.MemberPrice r => (ItemMatcher.Compile(new ItemPredicate.Sku([.. r.Prices.Select(p => p.Sku)]), ids), null),
            _ => (ItemMatcher.Everything, null),
        };
        ConsumesUnits = definition is Reward.BuyXGetY or Reward.BundlePrice or Reward.NthItemDiscount;
        if (definition is Reward.MemberPrice member)
        {
            MemberPrices = member.Prices.GroupBy(p => p.Sku, StringComparer.Ordinal).ToFrozenDictionary(g => g.Key, g => g.First().Price, StringComparer.Ordinal);
            MemberPricesMinor = MemberPrices.ToFrozenDictionary(pair => pair.Key, pair => new MinorTable(pair.Value), StringComparer.Ordinal);
            MemberTiers = member.Tiers.ToFrozenSet(StringComparer.Ordinal);
        }

        (ValueMinor, PercentScaled) = definition switch
        {
            Reward.PercentOffItems r => (null, Scaled(r.Percent)),
            Reward.AmountOffItems r => (new MinorTable(r.Amount), 0L),
            Reward.FixedPricePerItem r => (new MinorTable(r.Price), 0L),
            Reward.PercentOffOrder r => (null, Scaled(r.Percent)),
            Reward.AmountOffOrder r => (new MinorTable(r.Amount), 0L),
            Reward.BuyXGetY r => (new MinorTable(r.Value), Scaled(r.Value)),
            Reward.BundlePrice r => (new MinorTable(r.Price), 0L),
            Reward.NthItemDiscount r => (null, Scaled(r.Percent)),
            Reward.ShippingDiscount r => (new MinorTable(r.Value), Scaled(r.Value)),
            _ => ((MinorTable?)null, 0L),
        };
    }

    /// <summary>The reward's amount or price (buy X get Y / shipping: its Value) rounded to the currency, in minor units.</summary>
    public MinorTable? ValueMinor { get; }

    /// <summary>The reward's percent × 10⁴ (percentages have at most 4 decimal places), for integer percent arithmetic.</summary>
    public long PercentScaled { get; }

    public FrozenDictionary<string, MinorTable>? MemberPricesMinor { get; }

    /// <summary>Percent × 10⁴ as an integer, as PricingState.PercentOf takes it.</summary>
    internal static long Scaled(decimal percent) => (long)(percent * 10_000m);

    public Reward Definition { get; }

    /// <summary>Lines the reward acts on (for buy X get Y: the "buy" lines).</summary>
    public ItemMatcher Target { get; }

    /// <summary>Buy X get Y with a different "get" set; null = same set as Target.</summary>
    public ItemMatcher? Get { get; }

    public bool ConsumesUnits { get; }

    public FrozenDictionary<string, decimal>? MemberPrices { get; }

    public FrozenSet<string>? MemberTiers { get; }
}
