using System.Collections.Frozen;
using System.Globalization;
using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// The checks that do not depend on which other promotions apply: budget, time window, targeting, coupon,
/// original-basis conditions and whether any line matches. Passing promotions become search candidates.
/// </summary>
internal static class EligibilityGate
{
    /// <param name="facts">The basket lines' facts in the first Lines.Count entries.</param>
    /// <param name="scratch">When given, the candidate and its line lists come from (and only live as long as) the calculation's scratch.</param>
    public static PromotionOutcome? Check(CompiledPromotion promotion, Basket basket, LineFacts[] facts, PricingContext context, LocalClock clock, MoneyRounding rounding, out Candidate? candidate, CalculationScratch? scratch = null)
    {
        candidate = null;
        var id = promotion.Definition.Id;
        if (context.ExhaustedPromotionIds.Contains(id))
        {
            return Rejected(id, OutcomeReason.BudgetExhausted, "The promotion's budget is used up.");
        }

        if (!InWindow(promotion, context.At, clock))
        {
            return Rejected(id, OutcomeReason.OutsideWindow, "Not running at this time.");
        }

        if (promotion.Definition.Currency is { } currency && !string.Equals(currency, basket.Currency, StringComparison.Ordinal))
        {
            return new PromotionOutcome(id, false, OutcomeReason.NotTargeted, $"Its amounts are in {currency}; this basket is in {basket.Currency}.", 0m) { Detail = "currency" };
        }

        if (NotTargeted(promotion, context) is { } dimension)
        {
            return new PromotionOutcome(id, false, OutcomeReason.NotTargeted, $"Not available for this {dimension}.", 0m) { Detail = dimension };
        }

        string? coupon = null;
        if (promotion.CouponCodes is { } codes)
        {
            var usedUp = context.ExhaustedCouponCodes is { } exhaustedCodes && exhaustedCodes.TryGetValue(id, out var set) ? set : null;
            if ((coupon = PresentedCoupon(promotion, codes, context.Coupons, usedUp, out var usedUpCode)) is null)
            {
                return usedUpCode is not null
                    ? Rejected(id, OutcomeReason.CouponUsedUp, $"Coupon code {usedUpCode} has been used up.")
                    : Rejected(id, OutcomeReason.CouponMissing, "Needs a coupon code that was not presented.");
            }
        }

        var outcome = CheckItems(promotion, basket, facts, context, rounding, out candidate, scratch);
        if (coupon is not null)
        {
            if (candidate is not null)
            {
                candidate.Coupon = coupon;
            }
            else
            {
                outcome = outcome! with { Coupon = coupon };
            }
        }

        return outcome;
    }

    /// <summary>Conditions measured on the original basket, member tiers and matching lines: the rest of <see cref="Check"/>.</summary>
    private static PromotionOutcome? CheckItems(CompiledPromotion promotion, Basket basket, LineFacts[] facts, PricingContext context, MoneyRounding rounding, out Candidate? candidate, CalculationScratch? scratch)
    {
        var lineCount = basket.Lines.Count;
        candidate = null;
        var definition = promotion.Definition;
        var id = definition.Id;
        foreach (var condition in promotion.Conditions)
        {
            switch (condition.Definition)
            {
                case Condition.MinimumQuantity q:
                    {
                        var quantity = 0;
                        for (var i = 0; i < lineCount; i++)
                        {
                            quantity += condition.Items.Matches(facts[i]) ? basket.Lines[i].Quantity : 0;
                        }

                        if (quantity < q.Quantity)
                        {
                            return Rejected(id, OutcomeReason.MinimumQuantityNotMet, string.Create(CultureInfo.InvariantCulture, $"Add {q.Quantity - quantity} more qualifying item(s) to qualify."));
                        }

                        break;
                    }

                case Condition.MinimumSpend { Basis: SpendBasis.Original } s:
                    {
                        var spend = 0m;
                        for (var i = 0; i < lineCount; i++)
                        {
                            spend += condition.Items.Matches(facts[i]) ? basket.Lines[i].UnitPrice * basket.Lines[i].Quantity : 0m;
                        }

                        if (spend < s.Amount)
                        {
                            return SpendShortfall(id, s.Amount - spend, RewardEstimate.For(definition, s.Amount), rounding);
                        }

                        break;
                    }
            }
        }

        var targets = scratch?.Targets(promotion.Rewards.Length) ?? new int[promotion.Rewards.Length][];
        var gets = scratch?.Gets(promotion.Rewards.Length) ?? new int[]?[promotion.Rewards.Length];
        var anyLine = false;
        for (var r = 0; r < promotion.Rewards.Length; r++)
        {
            var reward = promotion.Rewards[r];
            targets[r] = MatchingLines(reward.Target, facts, lineCount, scratch);
            gets[r] = reward.Get is null ? null : MatchingLines(reward.Get, facts, lineCount, scratch);
            anyLine |= reward.Definition is Reward.ShippingDiscount or Reward.FreeGift || (targets[r].Length > 0 && gets[r] is not { Length: 0 });
            if (reward.Definition is Reward.MemberPrice && (context.MemberTier is null || !reward.MemberTiers!.Contains(context.MemberTier)))
            {
                return new PromotionOutcome(id, false, OutcomeReason.NotTargeted, "Member prices are for other member tiers.", 0m) { Detail = "memberTier" };
            }
        }

        if (!anyLine)
        {
            return Rejected(id, OutcomeReason.NoMatchingItems, "No item in the basket qualifies.");
        }

        candidate = scratch?.Candidate(promotion, targets, gets) ?? new Candidate(promotion, targets, gets);
        return null;
    }

    public static PromotionOutcome SpendShortfall(string id, decimal missing, decimal? potential, MoneyRounding rounding)
    {
        var more = rounding.Round(missing);
        var save = potential is { } p ? rounding.Round(p) : (decimal?)null;
        var message = save is { } s
            ? string.Create(CultureInfo.InvariantCulture, $"Spend {new Amount(more, rounding)} more to save {new Amount(s, rounding)}.")
            : string.Create(CultureInfo.InvariantCulture, $"Spend {new Amount(more, rounding)} more to qualify.");
        return new PromotionOutcome(id, false, OutcomeReason.MinimumSpendNotMet, message, 0m) { MissingAmount = more, PotentialSaving = save };
    }

    private static readonly string[] Formats = ["F0", "F1", "F2", "F3", "F4"];

    public static string Format(decimal amount, MoneyRounding rounding) =>
        amount.ToString(FormatOf(rounding), CultureInfo.InvariantCulture);

    private static string FormatOf(MoneyRounding rounding) =>
        (uint)rounding.MinorUnits < (uint)Formats.Length ? Formats[rounding.MinorUnits] : "F" + rounding.MinorUnits.ToString(CultureInfo.InvariantCulture);

    /// <summary>An amount with the currency's decimals, formatted straight into an interpolated message (no intermediate string).</summary>
    public readonly struct Amount(decimal value, MoneyRounding rounding) : ISpanFormattable
    {
        public string ToString(string? format, IFormatProvider? formatProvider) => Format(value, rounding);

        public override string ToString() => Format(value, rounding);

        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider) =>
            TryFormatFixed(value, rounding.MinorUnits, destination, out charsWritten)
            || value.TryFormat(destination, out charsWritten, FormatOf(rounding), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The text of <c>value.ToString("F" + decimals, InvariantCulture)</c> for the everyday case of a non-negative
    /// amount with at most that many decimals (nothing to round): integer digits, a point, the decimals zero-padded.
    /// Every message formats amounts and the general decimal formatter was a visible share of a calculation. Returns
    /// false, writing nothing useful, for anything else (the caller then uses the general formatter).
    /// </summary>
    private static bool TryFormatFixed(decimal value, int decimals, Span<char> destination, out int charsWritten)
    {
        charsWritten = 0;
        if ((uint)decimals > 4 || decimal.IsNegative(value) || value.Scale > decimals)
        {
            return false;
        }

        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        if (bits[2] != 0 || mantissa >= 1UL << 48)
        {
            return false;
        }

        for (var i = value.Scale; i < decimals; i++)
        {
            mantissa *= 10;
        }

        var divisor = 1UL;
        for (var i = 0; i < decimals; i++)
        {
            divisor *= 10;
        }

        if (!(mantissa / divisor).TryFormat(destination, out var integerDigits, default, CultureInfo.InvariantCulture))
        {
            return false;
        }

        if (decimals == 0)
        {
            charsWritten = integerDigits;
            return true;
        }

        if (destination.Length < integerDigits + 1 + decimals)
        {
            return false;
        }

        destination[integerDigits] = '.';
        var fraction = mantissa % divisor;
        for (var i = integerDigits + decimals; i > integerDigits; i--)
        {
            destination[i] = (char)('0' + (int)(fraction % 10));
            fraction /= 10;
        }

        charsWritten = integerDigits + 1 + decimals;
        return true;
    }

    private static PromotionOutcome Rejected(string id, OutcomeReason reason, string message) => new(id, false, reason, message, 0m);

    private static int[] MatchingLines(ItemMatcher matcher, LineFacts[] facts, int lineCount, CalculationScratch? scratch)
    {
        Span<int> found = lineCount <= 256 ? stackalloc int[lineCount] : new int[lineCount];
        var count = matcher.MatchLines(facts, lineCount, found);
        if (count == 0)
        {
            return [];
        }

        var lines = scratch?.Lines(count) ?? new int[count];
        found[..count].CopyTo(lines);
        return lines;
    }

    private static bool InWindow(CompiledPromotion promotion, DateTimeOffset at, LocalClock clock)
    {
        if ((promotion.StartUtc is { } start && at < start) || (promotion.EndUtc is { } end && at >= end))
        {
            return false;
        }

        if (promotion.DayParts.Count == 0)
        {
            return true;
        }

        // Wall-clock time in the promotion's zone: TimeZoneInfo applies the DST rule in force at that instant.
        var local = clock.LocalTime(promotion.Zone);
        var time = TimeOnly.FromDateTime(local);
        foreach (var part in promotion.DayParts)
        {
            if (part.From < part.To)
            {
                if (Contains(part.Days, local.DayOfWeek) && time >= part.From && time < part.To)
                {
                    return true;
                }
            }
            else if ((Contains(part.Days, local.DayOfWeek) && time >= part.From)
                || (Contains(part.Days, local.AddDays(-1).DayOfWeek) && time < part.To))
            {
                // A window past midnight belongs to the day it starts on.
                return true;
            }
        }

        return false;
    }

    private static bool Contains(IReadOnlyList<DayOfWeek> days, DayOfWeek day)
    {
        for (var i = 0; i < days.Count; i++)
        {
            if (days[i] == day)
            {
                return true;
            }
        }

        return false;
    }

    private static string? NotTargeted(CompiledPromotion promotion, PricingContext context)
    {
        if (promotion.Channels is { } channels && !channels.Contains(context.Channel))
        {
            return "channel";
        }

        if (promotion.StoreIds is { } stores && (context.StoreId is null || !stores.Contains(context.StoreId)))
        {
            return "store";
        }

        if (promotion.Regions is { } regions && (context.Region is null || !regions.Contains(context.Region)))
        {
            return "region";
        }

        if (promotion.Segments is { } segments && !AnyIn(context.Segments, segments))
        {
            return "segment";
        }

        if (promotion.MemberTiers is { } tiers && (context.MemberTier is null || !tiers.Contains(context.MemberTier)))
        {
            return "memberTier";
        }

        if (promotion.Definition.Targeting?.FirstOrderOnly == true && !context.FirstOrder)
        {
            return "firstOrder";
        }

        return null;
    }

    private static bool AnyIn(IReadOnlyList<string> values, FrozenSet<string> set)
    {
        for (var i = 0; i < values.Count; i++)
        {
            if (set.Contains(values[i]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The presented code that unlocks the promotion: a static code (as the definition spells it), else a code one of
    /// its batches verifies (canonical spelling); null when none does. Allocates only the canonical string of a batch code.
    /// </summary>
    /// <param name="usedUp">Static codes of this promotion at their use limit: skipped (another presented code may still unlock it).</param>
    /// <param name="usedUpCode">The first presented code skipped because it is used up.</param>
    private static string? PresentedCoupon(CompiledPromotion promotion, FrozenSet<string> codes, IReadOnlyList<string> presented, IReadOnlySet<string>? usedUp, out string? usedUpCode)
    {
        usedUpCode = null;
        for (var i = 0; i < presented.Count; i++)
        {
            // Spaces around a typed or scanned code are not part of it (generated codes forgive them too).
            if (presented[i] is { } code && (codes.TryGetValue(code, out var known) || codes.TryGetValue(code.Trim(), out known)))
            {
                if (usedUp is not null && usedUp.Contains(known))
                {
                    usedUpCode ??= known;
                    continue;
                }

                return known;
            }
        }

        if (promotion.CouponBatches is not { } batches)
        {
            return null;
        }

        Span<char> prefix = stackalloc char[CouponCodes.MaxPrefixLength];
        for (var i = 0; i < presented.Count; i++)
        {
            if (presented[i] is not { } code || !CouponCodes.TryParse(code, prefix, out var prefixLength, out var body))
            {
                continue;
            }

            foreach (var batch in batches)
            {
                if (!batch.Batch.Revoked && batch.Matches(prefix[..prefixLength], body, out _))
                {
                    return string.Create(batch.CodeLength, (batch.Batch.Prefix, body), static (text, parts) => CouponCodes.Format(parts.Prefix, parts.body, text));
                }
            }
        }

        return null;
    }
}
