using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>One store's part of a settlement, split between the funding parties.</summary>
public sealed record StoreSettlement(string Store, long Orders, long Units, decimal Discount, IReadOnlyDictionary<string, decimal> ByFundingParty);

/// <summary>Returns and cancellations that reached the ledger after the settlement was written, split like the settlement.</summary>
public sealed record SettlementAdjustments(long Orders, long Units, decimal Discount, IReadOnlyDictionary<string, decimal> ByFundingParty, IReadOnlyList<StoreSettlement> ByStore);

/// <summary>
/// Who owes what for a promotion, written once after its end plus the grace period and never rewritten. Each store's
/// discount is split between the vendors and the retailer by largest remainder in the currency's minor units (shares
/// in millionths), so every row adds up exactly and the totals are the sums of the rows. A return or cancellation that
/// reaches the ledger later does not change the statement: reading it adds <see cref="Adjustments"/> (the ledger's
/// counters now minus the statement, per store, split the same way) and <see cref="NetByFundingParty"/>.
/// </summary>
public sealed record PromotionSettlement(
    string PromotionId,
    string? Currency,
    DateTimeOffset? EndedAt,
    DateTimeOffset SettledAt,
    long Orders,
    long Units,
    decimal TotalDiscount,
    IReadOnlyDictionary<string, decimal> ByFundingParty,
    IReadOnlyList<StoreSettlement> ByStore)
{
    public const string Retailer = "retailer";

    /// <summary>The vendors and shares the statement was split with (null in statements written before it was kept: the promotion's own).</summary>
    public IReadOnlyList<PromotionFunding>? Funding { get; init; }

    /// <summary>Computed when read, never stored: null when nothing changed since the statement.</summary>
    public SettlementAdjustments? Adjustments { get; init; }

    /// <summary>Computed when read: the statement plus the adjustments, per funding party.</summary>
    public IReadOnlyDictionary<string, decimal>? NetByFundingParty { get; init; }

    public static PromotionSettlement From(PromotionRecord record, PromotionUsage? usage, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        usage ??= PromotionUsage.Empty(record.Id);
        var funding = record.Funding ?? [];
        var minorUnits = MinorUnits(usage.Currency);
        var stores = usage.ByStore.OrderBy(s => s.Key, StringComparer.Ordinal)
            .Select(s => new StoreSettlement(s.Key, s.Value.Orders, s.Value.Units, s.Value.Discount, Split(s.Value.Discount, funding, minorUnits)))
            .ToList();
        return new PromotionSettlement(record.Id, usage.Currency, record.EndedAt, now, usage.Orders, usage.Units, usage.Discount, Totals(stores), stores)
        {
            Funding = funding,
        };
    }

    /// <summary>The statement as read now: with what the ledger's counters (<paramref name="usage"/>) moved since it was written.</summary>
    public PromotionSettlement WithAdjustments(PromotionUsage? usage, IReadOnlyList<PromotionFunding>? promotionFunding)
    {
        var funding = Funding ?? promotionFunding ?? [];
        var minorUnits = MinorUnits(Currency ?? usage?.Currency);
        var settled = ByStore.ToDictionary(s => s.Store, StringComparer.Ordinal);
        var now = usage?.ByStore ?? new Dictionary<string, UsageTally>(StringComparer.Ordinal);
        var changed = settled.Keys.Union(now.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(store =>
        {
            var before = settled.TryGetValue(store, out var s) ? new UsageTally(s.Orders, s.Units, s.Discount) : UsageTally.Zero;
            var after = now.TryGetValue(store, out var t) ? t : UsageTally.Zero;
            var discount = after.Discount - before.Discount;
            return new StoreSettlement(store, after.Orders - before.Orders, after.Units - before.Units, discount, Split(discount, funding, minorUnits));
        }).Where(s => s.Orders != 0 || s.Units != 0 || s.Discount != 0).ToList();
        var totals = Totals(changed);
        var adjustments = changed.Count == 0
            ? null
            : new SettlementAdjustments(changed.Sum(s => s.Orders), changed.Sum(s => s.Units), changed.Sum(s => s.Discount), totals, changed);
        var net = ByFundingParty.Keys.Union(totals.Keys, StringComparer.Ordinal)
            .ToDictionary(k => k, k => ByFundingParty.GetValueOrDefault(k) + totals.GetValueOrDefault(k), StringComparer.Ordinal);
        return this with { Funding = funding, Adjustments = adjustments, NetByFundingParty = net };
    }

    /// <summary>
    /// Splits an amount (negative for adjustments) between the vendors and the retailer: minor units by largest remainder
    /// over the shares in millionths, the retailer weighted with what the vendors leave. The parts always sum to the amount.
    /// </summary>
    public static IReadOnlyDictionary<string, decimal> Split(decimal amount, IReadOnlyList<PromotionFunding> funding, int minorUnits)
    {
        ArgumentNullException.ThrowIfNull(funding);
        var parties = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var money = new MoneyRounding(minorUnits, RoundingMode.HalfEven);
        var minor = money.ToMinor(money.Round(Math.Abs(amount)));
        if (funding.Count == 0 || minor == long.MaxValue)
        {
            parties[Retailer] = amount;
            return parties;
        }

        var weights = new long[funding.Count + 1];
        var vendors = 0L;
        for (var i = 0; i < funding.Count; i++)
        {
            weights[i] = (long)(funding[i].Share * PromotionFunding.ShareScale);
            vendors += weights[i];
        }

        weights[^1] = Math.Max(0, PromotionFunding.ShareScale - vendors);
        var parts = new long[weights.Length];
        LargestRemainder.Allocate(minor, weights, parts);
        var sign = amount < 0 ? -1 : 1;
        for (var i = 0; i < funding.Count; i++)
        {
            parties[funding[i].Vendor] = money.FromMinor(sign * parts[i]);
        }

        // Whatever the minor units could not express (an amount with more decimals than the currency) stays with the retailer.
        parties[Retailer] = amount - parties.Values.Sum();
        return parties;
    }

    private static Dictionary<string, decimal> Totals(IEnumerable<StoreSettlement> stores) =>
        stores.SelectMany(s => s.ByFundingParty).GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);

    private static int MinorUnits(string? currency) => CurrencyTable.TryGetMinorUnits(currency, out var units) ? units : 2;
}

/// <summary>GET /{id}/report: what a promotion has given so far and what is left of its budget.</summary>
public sealed record PromotionReport(
    string PromotionId,
    string Status,
    string? Currency,
    long Orders,
    long Units,
    decimal DiscountGiven,
    decimal? BudgetLeft,
    long? UsesLeft,
    IReadOnlyDictionary<string, UsageTally> ByStore,
    IReadOnlyDictionary<string, UsageTally> ByChannel,
    IReadOnlyDictionary<string, UsageTally> ByDay);
