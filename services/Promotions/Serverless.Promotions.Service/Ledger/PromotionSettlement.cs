using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>One store's part of a settlement, split between the funding parties.</summary>
public sealed record StoreSettlement(string Store, long Orders, long Units, decimal Discount, IReadOnlyDictionary<string, decimal> ByFundingParty);

/// <summary>
/// Who owes what for a promotion, written once after its end plus the grace period. The vendor's part is rounded per
/// store (to the currency's minor unit) and the retailer takes the remainder, so every row and the totals add up exactly.
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

    public static PromotionSettlement From(PromotionRecord record, PromotionUsage? usage, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(record);
        usage ??= PromotionUsage.Empty(record.Id);
        var minorUnits = CurrencyTable.TryGetMinorUnits(usage.Currency, out var units) ? units : 2;
        var stores = usage.ByStore.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s =>
        {
            var parties = new Dictionary<string, decimal>(StringComparer.Ordinal);
            var vendor = 0m;
            if (record.Funding is { } funding)
            {
                vendor = decimal.Round(s.Value.Discount * funding.Share, minorUnits, MidpointRounding.ToEven);
                parties[funding.Vendor] = vendor;
            }

            parties[Retailer] = s.Value.Discount - vendor;
            return new StoreSettlement(s.Key, s.Value.Orders, s.Value.Units, s.Value.Discount, parties);
        }).ToList();
        var totals = stores.SelectMany(s => s.ByFundingParty).GroupBy(p => p.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Sum(p => p.Value), StringComparer.Ordinal);
        return new PromotionSettlement(record.Id, usage.Currency, record.EndedAt, now, usage.Orders, usage.Units, usage.Discount, totals, stores);
    }
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
