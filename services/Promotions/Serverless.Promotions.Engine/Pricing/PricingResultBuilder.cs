using System.Globalization;
using Serverless.Promotions.Engine.Compilation;
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
        SearchMode search,
        List<int>? rejectedRanks = null,
        int[]? idOrderByRank = null)
    {
        var lineCount = basket.Lines.Count;
        var lines = new LineResult[lineCount];

        // Adjustments are recorded in application order; each line's list keeps that order. Counted first so every
        // line gets an exact-size array (most lines have one or two).
        Span<int> counts = lineCount <= 256 ? stackalloc int[lineCount] : new int[lineCount];
        counts.Clear();
        var recorded = state.Adjustments;
        for (var a = 0; a < recorded.Count; a++)
        {
            counts[recorded[a].Line]++;
        }

        var byLine = new LineAdjustment[]?[lineCount];
        for (var i = 0; i < lineCount; i++)
        {
            byLine[i] = counts[i] == 0 ? null : new LineAdjustment[counts[i]];
            counts[i] = 0;
        }

        for (var a = 0; a < recorded.Count; a++)
        {
            var adjustment = recorded[a];
            byLine[adjustment.Line]![counts[adjustment.Line]++] = new LineAdjustment(candidates[adjustment.Slot].Promotion.Id, adjustment.Amount, adjustment.Units);
        }

        for (var i = 0; i < lineCount; i++)
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

        var outcomes = new PromotionOutcome[rejected.Count + candidates.Count];
        rejected.CopyTo(outcomes);
        for (var slot = 0; slot < candidates.Count; slot++)
        {
            var outcome = Outcome(candidates, chosen, state, slot, rounding);
            outcomes[rejected.Count + slot] = candidates[slot].Coupon is { } coupon ? outcome with { Coupon = coupon } : outcome;
        }

        // By promotion id, ordinal. Ids are unique within a snapshot, so with the snapshot's precomputed id order
        // (rank → position among all ids) sorting integer keys gives the same order as comparing the strings.
        if (idOrderByRank is not null && rejectedRanks is not null && rejectedRanks.Count == rejected.Count)
        {
            Span<int> keys = outcomes.Length <= 512 ? stackalloc int[outcomes.Length] : new int[outcomes.Length];
            for (var i = 0; i < rejected.Count; i++)
            {
                keys[i] = idOrderByRank[rejectedRanks[i]];
            }

            for (var slot = 0; slot < candidates.Count; slot++)
            {
                keys[rejected.Count + slot] = idOrderByRank[candidates[slot].Rank];
            }

            keys.Sort(outcomes.AsSpan());
        }
        else
        {
            Array.Sort(outcomes, ByPromotionId);
        }
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
            state.Gifts.Count == 0 ? [] : [.. state.Gifts],
            outcomes,
            state.Notes.Count == 0 ? [] : DistinctNotes(state.Notes),
            search) { Evaluations = state.Evaluations };
    }

    private static readonly Comparison<PromotionOutcome> ByPromotionId = static (a, b) => string.CompareOrdinal(a.PromotionId, b.PromotionId);

    /// <summary>The notes in first-seen order without repeats (as Enumerable.Distinct with the ordinal comparer).</summary>
    private static string[] DistinctNotes(List<string> notes)
    {
        var distinct = new List<string>(notes.Count);
        foreach (var note in notes)
        {
            var seen = false;
            foreach (var kept in distinct)
            {
                if (string.Equals(kept, note, StringComparison.Ordinal))
                {
                    seen = true;
                    break;
                }
            }

            if (!seen)
            {
                distinct.Add(note);
            }
        }

        return [.. distinct];
    }

    /// <summary>Units of a line grouped by their price after item promotions, dearest first, e.g. 2 × 10.00 and 1 × 0.00.</summary>
    private static UnitPriceGroup[] UnitGroups(BasketLine line, int index, PricingState state)
    {
        var first = state.FirstUnit(index);
        var allSame = true;
        for (var i = 1; i < line.Quantity && allSame; i++)
        {
            allSame = state.UnitDiscountMinor(first + i) == state.UnitDiscountMinor(first);
        }

        if (allSame)
        {
            return [new UnitPriceGroup(line.Quantity, line.UnitPrice - state.UnitDiscount(first))];
        }

        // Sorted by discount ascending = by price descending (same line, same unit price); one decimal per group.
        Span<long> discounts = line.Quantity <= 512 ? stackalloc long[line.Quantity] : new long[line.Quantity];
        for (var i = 0; i < line.Quantity; i++)
        {
            discounts[i] = state.UnitDiscountMinor(first + i);
        }

        discounts.Sort();
        var groupCount = 1;
        for (var i = 1; i < discounts.Length; i++)
        {
            groupCount += discounts[i] != discounts[i - 1] ? 1 : 0;
        }

        var groups = new UnitPriceGroup[groupCount];
        var start = 0;
        var g = 0;
        for (var i = 1; i <= discounts.Length; i++)
        {
            if (i == discounts.Length || discounts[i] != discounts[start])
            {
                groups[g++] = new UnitPriceGroup(i - start, line.UnitPrice - state.Rounding.FromMinor(discounts[start]));
                start = i;
            }
        }

        return groups;
    }

    /// <summary>
    /// Whether a note starts with "{id} was capped" (a loop rather than List.Exists with a lambda: the lambda's
    /// closure over the id was allocated on every Outcome call, used or not).
    /// </summary>
    private static bool HasCapNote(List<string> notes, string id)
    {
        foreach (var note in notes)
        {
            if (note.StartsWith(id, StringComparison.Ordinal) && note.AsSpan(id.Length).StartsWith(" was capped", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
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
                    ? string.Create(CultureInfo.InvariantCulture, $"Saved {new EligibilityGate.Amount(saving, rounding)}.")
                    : "Gift added.";
                return new PromotionOutcome(id, true, OutcomeReason.Applied, message, saving);
            }

            if (state.Shortfalls[slot] is { Reason: OutcomeReason.MinimumSpendNotMet } shortfall)
            {
                return EligibilityGate.SpendShortfall(id, shortfall.Missing, shortfall.PotentialSaving, rounding);
            }

            // Nothing taken off: either promotions applied before it (or a cap) left no room, or on its own it asks at least
            // what the items already cost (a bundle or fixed price above their prices).
            var earlier = false;
            for (var other = 0; other < slot && !earlier; other++)
            {
                earlier = chosen[other] && state.SavingMinorOf(other) > 0;
            }

            return new PromotionOutcome(id, false, OutcomeReason.NoSavingLeft, earlier || HasCapNote(state.Notes, id)
                ? "Earlier promotions or caps left nothing for this one."
                : "The items already cost no more than this promotion would make them.", 0m);
        }

        // Not chosen: name the chosen promotion that cost it its place (the largest saving, then the earliest slot).
        // Savings are compared in minor units (the same order as the decimals, without building one per comparison).
        CompiledPromotion? incompatible = null;
        var incompatibleSaving = 0L;
        for (var other = 0; other < candidates.Count; other++)
        {
            if (chosen[other] && !promotion.CombinesWith(candidates[other].Promotion))
            {
                var otherSaving = state.SavingMinorOf(other);
                if (incompatible is null || otherSaving > incompatibleSaving)
                {
                    (incompatible, incompatibleSaving) = (candidates[other].Promotion, otherSaving);
                }
            }
        }

        if (incompatible is not null && incompatible.Definition.Exclusive && !promotion.Definition.Exclusive)
        {
            return new PromotionOutcome(id, false, OutcomeReason.ExcludedBy, $"Excluded by exclusive promotion {incompatible.Id}.", 0m) { RelatedPromotionId = incompatible.Id };
        }

        if (incompatible is not null)
        {
            return new PromotionOutcome(id, false, OutcomeReason.LostBestDeal, candidates[slot].LostOnTie
                ? $"{incompatible.Id} saves as much and wins the tie ({TieReason(incompatible, promotion)}); the two do not combine."
                : $"{incompatible.Id} saves more and the two do not combine.", 0m) { RelatedPromotionId = incompatible.Id };
        }

        string? competitor = null;
        for (var other = 0; other < candidates.Count && competitor is null; other++)
        {
            if (chosen[other] && candidates[other].Promotion.ConsumesUnits)
            {
                competitor = candidates[other].Promotion.Id;
            }
        }

        if (competitor is not null)
        {
            return new PromotionOutcome(id, false, OutcomeReason.LostBestDeal, $"{competitor} makes better use of the same items.", 0m) { RelatedPromotionId = competitor };
        }

        // It would have taken something off, but the chosen combination saves more without it (e.g. it would have pushed
        // the discounted subtotal under another promotion's minimum spend): name the largest saving it lost to.
        string? best = null;
        var bestSaving = 0L;
        for (var other = 0; other < candidates.Count; other++)
        {
            if (chosen[other] && state.SavingMinorOf(other) is var otherSaving && otherSaving > bestSaving)
            {
                (best, bestSaving) = (candidates[other].Promotion.Id, otherSaving);
            }
        }

        return new PromotionOutcome(id, false, OutcomeReason.LostBestDeal, best is null
            ? "Applying it would not have increased the saving."
            : $"Applying it would not have increased the saving: {best} saves more without it.", 0m) { RelatedPromotionId = best };
    }

    private static string TieReason(CompiledPromotion winner, CompiledPromotion loser) =>
        winner.Definition.Priority > loser.Definition.Priority ? "higher priority"
        : winner.Definition.Priority == loser.Definition.Priority && string.CompareOrdinal(winner.Id, loser.Id) < 0 ? "same priority, lower id"
        : "a promotion it holds has a higher priority, or the same and a lower id";
}
