namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// Draft → Scheduled → Active ⇄ Paused → Ended → Settled. A draft or a scheduled promotion may also be activated
/// at once or ended (withdrawn); a scheduled one may go back to draft. Settled is final: its money has been split.
/// </summary>
public static class PromotionLifecycle
{
    private static readonly Dictionary<PromotionStatus, PromotionStatus[]> Allowed = new()
    {
        [PromotionStatus.Draft] = [PromotionStatus.Scheduled, PromotionStatus.Active, PromotionStatus.Ended],
        [PromotionStatus.Scheduled] = [PromotionStatus.Draft, PromotionStatus.Active, PromotionStatus.Ended],
        [PromotionStatus.Active] = [PromotionStatus.Paused, PromotionStatus.Ended],
        [PromotionStatus.Paused] = [PromotionStatus.Active, PromotionStatus.Ended],
        [PromotionStatus.Ended] = [PromotionStatus.Settled],
        [PromotionStatus.Settled] = [],
    };

    public static bool CanMove(PromotionStatus from, PromotionStatus to) => Allowed[from].Contains(to);

    public static IReadOnlyList<PromotionStatus> Next(PromotionStatus from) => Allowed[from];

    /// <summary>The definition, budget and funding may change until the promotion has ended (its report and settlement depend on them).</summary>
    public static bool CanEdit(PromotionStatus status) => status is not (PromotionStatus.Ended or PromotionStatus.Settled);
}
