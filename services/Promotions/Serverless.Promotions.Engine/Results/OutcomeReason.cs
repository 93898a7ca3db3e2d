namespace Serverless.Promotions.Engine.Results;

public enum OutcomeReason
{
    Applied,
    OutsideWindow,
    NotTargeted,
    CouponMissing,
    BudgetExhausted,
    LostBestDeal,
    ExcludedBy,
    MinimumSpendNotMet,
    MinimumQuantityNotMet,
    NoMatchingItems,

    /// <summary>Chosen, but earlier promotions or caps left nothing for it to take.</summary>
    NoSavingLeft,

    /// <summary>The presented static coupon code has reached its per-code use limit (the service keeps the ledger).</summary>
    CouponUsedUp,
}
