namespace Serverless.Promotions.Service;

/// <summary>The topics the promotions capability publishes (all through the outbox, in the transaction that made the change).</summary>
public static class PromotionTopics
{
    public const string Changed = "promotion.changed";
    public const string Activated = "promotion.activated";
    public const string Ended = "promotion.ended";
    public const string Settled = "promotion.settled";
    public const string BudgetThreshold = "promotion.budget.threshold";

    /// <summary>A return or cancellation released discount of a promotion that was already settled.</summary>
    public const string SettlementAdjusted = "promotion.settlement.adjusted";

    public static readonly IReadOnlyList<string> All = [Changed, Activated, Ended, Settled, BudgetThreshold, SettlementAdjusted];

    internal const string Source = "/promotions";
}
