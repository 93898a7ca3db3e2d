using System.Text.Json.Serialization;
using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// A promotion as the catalog keeps it: the engine's definition plus what only the service knows (lifecycle,
/// budget, funding). StartsAt/EndsAt are the definition's validity start/end as instants (its own time zone applied).
/// DueKeys are this record's entries in the timer's due index, replaced by every change. CouponBatches are the
/// promotion's generated coupon batches (metadata only: keys are derived from the coupon secret, see <see cref="CouponSecret"/>).
/// </summary>
public sealed record PromotionRecord(
    string Id,
    PromotionDefinition Definition,
    PromotionStatus Status,
    PromotionBudget? Budget,
    [property: JsonConverter(typeof(FundingListConverter))] IReadOnlyList<PromotionFunding>? Funding,
    long Revision,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    DateTimeOffset? ActivatedAt = null,
    DateTimeOffset? EndedAt = null,
    DateTimeOffset? SettledAt = null)
{
    public IReadOnlyList<string> DueKeys { get; init; } = [];

    public IReadOnlyList<CouponBatchRecord> CouponBatches { get; init; } = [];
}

/// <summary>PUT body: the definition (its id is the route's), optional budget and funding (vendors and their shares).</summary>
public sealed record PromotionInput(
    PromotionDefinition? Definition,
    PromotionBudget? Budget = null,
    [property: JsonConverter(typeof(FundingListConverter))] IReadOnlyList<PromotionFunding>? Funding = null);

/// <summary>The event payload of promotion.changed / activated / ended / settled.</summary>
public sealed record PromotionChanged(string PromotionId, string Status, long Revision, string Change);
