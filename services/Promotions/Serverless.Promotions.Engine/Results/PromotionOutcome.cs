using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Results;

/// <summary>Why a promotion that was looked at did or did not apply. The optional details are left out of JSON when they do not apply.</summary>
public sealed record PromotionOutcome(string PromotionId, bool Applied, OutcomeReason Reason, string Message, decimal Saving)
{
    /// <summary>The promotion that won or excluded this one, for LostBestDeal / ExcludedBy.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? RelatedPromotionId { get; init; }

    /// <summary>For MinimumSpendNotMet: how much more to spend.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? MissingAmount { get; init; }

    /// <summary>For MinimumSpendNotMet: what it would save once reached, when known.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public decimal? PotentialSaving { get; init; }

    /// <summary>For NotTargeted: channel, store, region, segment, memberTier or firstOrder.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Detail { get; init; }

    /// <summary>
    /// The presented code that unlocked a promotion needing a coupon (set whenever its coupon check passed): a static
    /// code as the definition spells it, a generated code in its canonical spelling (<c>PREFIX-XXXXX-XXXXX-XXXXX</c>),
    /// so every spelling of one code counts as that code. Left out of the JSON when null.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Coupon { get; init; }
}
