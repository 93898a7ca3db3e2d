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

    /// <summary>Every topic above; each event's CloudEvent type is its topic's name.</summary>
    public static readonly IReadOnlyList<string> All = [Changed, Activated, Ended, Settled, BudgetThreshold, SettlementAdjusted];

    /// <summary>What each topic is, for <c>/api/topics</c> and the outbound webhooks' event catalogue.</summary>
    public static readonly IReadOnlyDictionary<string, string> Descriptions = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Changed] = "a promotion was created, changed or moved in its lifecycle",
        [Activated] = "a promotion became active",
        [Ended] = "a promotion ended",
        [Settled] = "a promotion's settlement was written",
        [BudgetThreshold] = "a promotion used 80 % or 100 % of its budget",
        [SettlementAdjusted] = "a return or cancellation changed a settled promotion's usage (negative amounts)",
    };

    internal const string Source = "/promotions";
}
