using System.Globalization;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>Turns the final evaluation into lines, totals and one outcome per promotion looked at.</summary>
internal static class PricingResultBuilder
{
    public static PricingResult Build(
        Basket basket,
        MoneyRounding rounding,
        decimal subtotal,
        List<Candidate> candidates,
        bool[] chosen,
        PricingState state,
        List<PromotionOutcome> rejected,
        SearchMode search)
    {
        var lines = new LineResult[basket.Lines.Count];
        var byLine = new List<LineAdjustment>?[basket.Lines.Count];
        foreach (var adjustment in state.Adjustments)
        {
            (byLine[adjustment.Line] ??= []).Add(new LineAdjustment(candidates[adjustment.Slot].Promotion.Id, adjustment.Amount, adjustment.Units));
        }

        for (var i = 0; i < basket.Lines.Count; i++)
        {
            var line = basket.Lines[i];
            var adjustments = byLine[i] ?? [];
            var original = line.UnitPrice * line.Quantity;
            var final = original;
            foreach (var adjustment in adjustments)
            {
                final -= adjustment.Amount;
            }

            lines[i] = new LineResult(line.LineId, line.Sku, line.Quantity, line.UnitPrice, original, adjustments, UnitGroups(line, i, state), final);
        }

        var outcomes = new List<PromotionOutcome>(rejected.Count + candidates.Count);
        outcomes.AddRange(rejected);
        for (var slot = 0; slot < candidates.Count; slot++)
        {
            outcomes.Add(Outcome(candidates, chosen, state, slot, rounding));
        }

        outcomes.Sort((a, b) => string.CompareOrdinal(a.PromotionId, b.PromotionId));
        var total = subtotal - state.ItemDiscount - state.OrderDiscount + basket.ShippingAmount - state.ShippingDiscount;
        return new PricingResult(
            basket.Currency,
            subtotal,
            state.ItemDiscount,
            state.OrderDiscount,
            basket.ShippingAmount,
            state.ShippingDiscount,
            total,
            lines,
            [.. state.Gifts],
            outcomes,
            state.Notes.Count == 0 ? [] : [.. state.Notes.Distinct(StringComparer.Ordinal)],
            search) { Evaluations = state.Evaluations };
    }

    /// <summary>Units of a line grouped by their price after item promotions, dearest first, e.g. 2 × 10.00 and 1 × 0.00.</summary>
    private static List<UnitPriceGroup> UnitGroups(BasketLine line, int index, PricingState state)
    {
        var first = state.FirstUnit(index);
        var allSame = true;
        for (var i = 1; i < line.Quantity && allSame; i++)
        {
            allSame = state.UnitDiscount(first + i) == state.UnitDiscount(first);
        }

        if (allSame)
        {
            return [new UnitPriceGroup(line.Quantity, line.UnitPrice - state.UnitDiscount(first))];
        }

        var prices = new decimal[line.Quantity];
        for (var i = 0; i < line.Quantity; i++)
        {
            prices[i] = line.UnitPrice - state.UnitDiscount(first + i);
        }

        Array.Sort(prices, (a, b) => b.CompareTo(a));
        var groups = new List<UnitPriceGroup>();
        var start = 0;
        for (var i = 1; i <= prices.Length; i++)
        {
            if (i == prices.Length || prices[i] != prices[start])
            {
                groups.Add(new UnitPriceGroup(i - start, prices[start]));
                start = i;
            }
        }

        return groups;
    }

    private static PromotionOutcome Outcome(List<Candidate> candidates, bool[] chosen, PricingState state, int slot, MoneyRounding rounding)
    {
        var promotion = candidates[slot].Promotion;
        var id = promotion.Id;
        var saving = state.SavingOf(slot);
        if (chosen[slot])
        {
            if (saving > 0 || state.GiftAdded[slot])
            {
                var message = saving > 0
                    ? string.Create(CultureInfo.InvariantCulture, $"Saved {EligibilityGate.Format(saving, rounding)}.")
                    : "Gift added.";
                return new PromotionOutcome(id, true, OutcomeReason.Applied, message, saving);
            }

            if (state.Shortfalls[slot] is { Reason: OutcomeReason.MinimumSpendNotMet } shortfall)
            {
                return EligibilityGate.SpendShortfall(id, shortfall.Missing, shortfall.PotentialSaving, rounding);
            }

            return new PromotionOutcome(id, false, OutcomeReason.NoSavingLeft, "Earlier promotions or caps left nothing for this one.", 0m);
        }

        // Not chosen: name the chosen promotion that cost it its place.
        var incompatible = Enumerable.Range(0, candidates.Count)
            .Where(other => chosen[other] && !promotion.CombinesWith(candidates[other].Promotion))
            .OrderByDescending(other => state.SavingOf(other))
            .ThenBy(other => other)
            .Select(other => candidates[other].Promotion)
            .FirstOrDefault();
        if (incompatible is not null && incompatible.Definition.Exclusive && !promotion.Definition.Exclusive)
        {
            return new PromotionOutcome(id, false, OutcomeReason.ExcludedBy, $"Excluded by exclusive promotion {incompatible.Id}.", 0m) { RelatedPromotionId = incompatible.Id };
        }

        if (incompatible is not null)
        {
            return new PromotionOutcome(id, false, OutcomeReason.LostBestDeal, $"{incompatible.Id} saves more and the two do not combine.", 0m) { RelatedPromotionId = incompatible.Id };
        }

        var competitor = Enumerable.Range(0, candidates.Count)
            .Where(other => chosen[other] && candidates[other].Promotion.ConsumesUnits)
            .Select(other => candidates[other].Promotion.Id)
            .FirstOrDefault();
        return new PromotionOutcome(id, false, OutcomeReason.LostBestDeal, competitor is null
            ? "Applying it would not have increased the saving."
            : $"{competitor} makes better use of the same items.", 0m) { RelatedPromotionId = competitor };
    }
}
