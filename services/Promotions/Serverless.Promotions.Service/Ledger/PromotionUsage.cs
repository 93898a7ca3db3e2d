namespace Serverless.Promotions.Service.Ledger;

/// <summary>Orders, units and discount for one slice of a promotion's use (a store, a channel, a day).</summary>
public sealed record UsageTally(long Orders, long Units, decimal Discount)
{
    public static UsageTally Zero { get; } = new(0, 0, 0m);

    public UsageTally Add(long orders, long units, decimal discount) => new(Orders + orders, Units + units, Discount + discount);
}

/// <summary>
/// A promotion's consumption: the budget counters and the report counters in one record, so a commit updates one
/// ETag-checked key per promotion (budget and report can never disagree). Orders is also the use count.
/// Reached80/Reached100 remember that the threshold event was published (once each); Exhausted that the exhausted index entry exists.
/// </summary>
public sealed record PromotionUsage(string PromotionId, string? Currency, long Orders, long Units, decimal Discount)
{
    public IReadOnlyDictionary<string, UsageTally> ByStore { get; init; } = new Dictionary<string, UsageTally>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, UsageTally> ByChannel { get; init; } = new Dictionary<string, UsageTally>(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, UsageTally> ByDay { get; init; } = new Dictionary<string, UsageTally>(StringComparer.Ordinal);

    public bool Reached80 { get; init; }

    public bool Reached100 { get; init; }

    public bool Exhausted { get; init; }

    public static PromotionUsage Empty(string promotionId) => new(promotionId, null, 0, 0, 0m);

    /// <summary>Adds (or, with negative numbers, releases) one order's share under its store, channel and day.</summary>
    public PromotionUsage Apply(long orders, long units, decimal discount, string store, string channel, string day, string currency) => this with
    {
        Currency = Currency ?? currency,
        Orders = Orders + orders,
        Units = Units + units,
        Discount = Discount + discount,
        ByStore = Bump(ByStore, store, orders, units, discount),
        ByChannel = Bump(ByChannel, channel, orders, units, discount),
        ByDay = Bump(ByDay, day, orders, units, discount),
    };

    private static Dictionary<string, UsageTally> Bump(IReadOnlyDictionary<string, UsageTally> tallies, string key, long orders, long units, decimal discount)
    {
        var copy = new Dictionary<string, UsageTally>(tallies, StringComparer.Ordinal);
        copy[key] = (copy.TryGetValue(key, out var tally) ? tally : UsageTally.Zero).Add(orders, units, discount);
        return copy;
    }
}

/// <summary>Uses counted against a per-customer or per-coupon-code limit.</summary>
public sealed record UseCount(long Uses);
