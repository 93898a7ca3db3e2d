using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Service.Active;

namespace Serverless.Promotions.Service.Export;

/// <summary>
/// What an offline POS needs: the Active definitions that can apply in its store (no store targeting, or this store)
/// on the POS channel, and which of them are out of budget. The POS compiles <see cref="Promotions"/> with the same
/// engine (<see cref="PromotionSnapshot.Compile"/>) and passes <see cref="Exhausted"/> as the exhausted set and
/// <see cref="ExhaustedCouponCodes"/> as the used-up static codes (<see cref="PricingContextFor"/> does both), which gives
/// the service's results for baskets priced in this store on the POS channel. <see cref="CouponBatches"/> are the
/// exported promotions' unrevoked coupon batches WITH their keys (the POS verifies generated codes offline): whoever
/// has an export can make those batches' codes, so it must only go to POS devices. A new or revoked batch reaches a
/// POS with its next export.
/// </summary>
public sealed record StoreSnapshot(string Store, string? Version, DateTimeOffset ExportedAt, IReadOnlyList<string> Exhausted, IReadOnlyList<PromotionDefinition> Promotions)
{
    public IReadOnlyList<CouponBatch> CouponBatches { get; init; } = [];

    /// <summary>Static coupon codes at their perCouponCode limit, by promotion id (codes sorted; only exported promotions).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> ExhaustedCoupons { get; init; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);

    /// <summary><see cref="ExhaustedCoupons"/> in the form <see cref="PricingContext.ExhaustedCouponCodes"/> takes.</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> ExhaustedCouponCodes() =>
        ExhaustedCoupons.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value.ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>A pricing context at <paramref name="at"/> carrying this export's exhausted promotions and used-up codes.</summary>
    public PricingContext PricingContextFor(DateTimeOffset at) => new(at)
    {
        ExhaustedPromotionIds = Exhausted.ToHashSet(StringComparer.Ordinal),
        ExhaustedCouponCodes = ExhaustedCouponCodes(),
    };

    /// <summary>The tenant's pricing rules (rounding, per-order cap), so the POS prices exactly as the service does.</summary>
    public PricingOptions Pricing { get; init; } = PricingOptions.Default;

    public static StoreSnapshot For(ActiveView view, string store, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(view);
        var definitions = view.Snapshot.Definitions
            .Where(d => d.Targeting is null
                || ((d.Targeting.StoreIds.Count == 0 || d.Targeting.StoreIds.Contains(store, StringComparer.Ordinal))
                    && (d.Targeting.Channels.Count == 0 || d.Targeting.Channels.Contains(SalesChannel.Pos))))
            .ToList();
        var ids = definitions.Select(d => d.Id).ToHashSet(StringComparer.Ordinal);
        return new StoreSnapshot(store, view.Version, now, [.. view.Exhausted.Where(ids.Contains).Order(StringComparer.Ordinal)], definitions)
        {
            CouponBatches = [.. view.Snapshot.CouponBatches.Where(b => !b.Revoked && ids.Contains(b.PromotionId))],
            ExhaustedCoupons = view.ExhaustedCoupons.Where(e => ids.Contains(e.Key))
                .ToDictionary(e => e.Key, e => (IReadOnlyList<string>)[.. e.Value.Order(StringComparer.Ordinal)], StringComparer.Ordinal),
            Pricing = view.Snapshot.Options,
        };
    }

    /// <summary>The export's JSON: definitions in the engine's own format (<see cref="PromotionJson"/>), so a POS reads it with the engine alone.</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(this, PromotionJson.Options);

    public static StoreSnapshot FromJson(ReadOnlySpan<byte> json) => JsonSerializer.Deserialize<StoreSnapshot>(json, PromotionJson.Options)!;

    public PromotionSnapshot Compile() => PromotionSnapshot.Compile(Promotions, CouponBatches, Pricing);
}
