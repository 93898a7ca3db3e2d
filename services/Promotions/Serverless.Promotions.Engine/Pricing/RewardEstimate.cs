using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>What a promotion would save once its spend threshold is reached, for the upsell hint. Null when it depends on which items are bought.</summary>
internal static class RewardEstimate
{
    public static decimal? For(PromotionDefinition definition, decimal threshold)
    {
        decimal? total = null;
        foreach (var reward in definition.Rewards)
        {
            decimal? saving = reward switch
            {
                Reward.AmountOffOrder r => r.Amount,
                Reward.PercentOffOrder r => threshold * r.Percent / 100m,
                Reward.SpendTiers r when r.Tiers.Count > 0 => r.Tiers[0].Amount ?? (r.Tiers[0].Threshold * (r.Tiers[0].Percent ?? 0m) / 100m),
                Reward.SpendEvery r => r.Save,
                _ => null,
            };
            if (saving is null)
            {
                return null;
            }

            total = (total ?? 0m) + saving;
        }

        return total is { } value && definition.MaxDiscount is { } cap ? Math.Min(value, cap) : total;
    }
}
