using System.Globalization;
using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Promotions.Engine.Validation;

/// <summary>Every problem with one definition, each with its path (e.g. <c>rewards[0].tiers[1].threshold</c>). Empty = compiles.</summary>
public static class PromotionDefinitionValidator
{
    public static IReadOnlyList<ValidationProblem> Validate(PromotionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var problems = new List<ValidationProblem>();
        void Problem(string path, string message) => problems.Add(new ValidationProblem(path, message));

        if (string.IsNullOrWhiteSpace(definition.Id))
        {
            Problem("id", "is required");
        }

        if (string.IsNullOrWhiteSpace(definition.Name))
        {
            Problem("name", "is required");
        }

        if (definition.MaxDiscount is <= 0)
        {
            Problem("maxDiscount", "must be positive");
        }

        if (definition.Currency is { } currency && !Money.CurrencyTable.TryGetMinorUnits(currency, out _))
        {
            Problem("currency", $"unknown currency '{currency}' (an ISO 4217 code such as EUR)");
        }

        ValidateValidity(definition.Validity, Problem);
        for (var i = 0; i < (definition.Coupon?.Codes.Count ?? 0); i++)
        {
            if (string.IsNullOrWhiteSpace(definition.Coupon!.Codes[i]))
            {
                Problem($"coupon.codes[{i}]", "must not be blank");
            }
        }

        for (var i = 0; i < definition.Conditions.Count; i++)
        {
            var path = $"conditions[{i}]";
            switch (definition.Conditions[i])
            {
                case Condition.MinimumSpend s:
                    if (s.Amount <= 0)
                    {
                        Problem($"{path}.amount", "must be positive");
                    }

                    ValidatePredicate(s.Items, $"{path}.items", Problem);
                    break;
                case Condition.MinimumQuantity q:
                    if (q.Quantity <= 0)
                    {
                        Problem($"{path}.quantity", "must be positive");
                    }

                    ValidatePredicate(q.Items, $"{path}.items", Problem);
                    break;
                case null:
                    Problem(path, "is required");
                    break;
            }
        }

        if (definition.Rewards.Count == 0)
        {
            Problem("rewards", "must have at least one reward");
        }

        for (var i = 0; i < definition.Rewards.Count; i++)
        {
            ValidateReward(definition.Rewards[i], definition.Class, $"rewards[{i}]", Problem);
        }

        return problems;
    }

    /// <summary>
    /// Every money amount of a definition that names its <see cref="PromotionDefinition.Currency"/> (reward amounts and
    /// prices, tier thresholds and amounts, spend-every steps, minimum spends, price-range bounds, member prices,
    /// shipping and buy-X-get-Y amounts, maxDiscount) must be representable in that currency's minor units: 0.4 in JPY
    /// or 1.005 in EUR would otherwise be rounded away silently. Empty when the definition names no currency (its
    /// amounts are then read in the basket's currency, which is only known when pricing) or an unknown one (reported by
    /// <see cref="Validate"/>).
    /// </summary>
    /// <remarks>
    /// Not part of <see cref="Validate"/>, and so not of <see cref="PromotionSnapshot"/>'s Compile:
    /// a definition stored before this check existed must keep compiling (one definition that fails to compile keeps a
    /// whole snapshot from loading). Authoring paths call both.
    /// </remarks>
    public static IReadOnlyList<ValidationProblem> ValidateAmounts(PromotionDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var problems = new List<ValidationProblem>();
        if (definition.Currency is not { } currency || !Money.CurrencyTable.TryGetMinorUnits(currency, out var minorUnits))
        {
            return problems;
        }

        void Amount(decimal? value, string path)
        {
            if (value is { } amount && !FitsMinorUnits(amount, minorUnits))
            {
                problems.Add(new ValidationProblem(path, string.Create(CultureInfo.InvariantCulture, $"has more decimals than {currency} allows ({minorUnits})")));
            }
        }

        void Items(ItemPredicate? predicate, string path)
        {
            switch (predicate)
            {
                case ItemPredicate.PriceRange range:
                    Amount(range.Min, $"{path}.min");
                    Amount(range.Max, $"{path}.max");
                    break;
                case ItemPredicate.AllOf all:
                    for (var i = 0; i < (all.Predicates?.Count ?? 0); i++)
                    {
                        Items(all.Predicates![i], $"{path}.predicates[{i}]");
                    }

                    break;
                case ItemPredicate.AnyOf any:
                    for (var i = 0; i < (any.Predicates?.Count ?? 0); i++)
                    {
                        Items(any.Predicates![i], $"{path}.predicates[{i}]");
                    }

                    break;
                case ItemPredicate.Exclude exclude:
                    Items(exclude.Predicate, $"{path}.predicate");
                    break;
            }
        }

        Amount(definition.MaxDiscount, "maxDiscount");
        for (var i = 0; i < definition.Conditions.Count; i++)
        {
            var path = $"conditions[{i}]";
            switch (definition.Conditions[i])
            {
                case Condition.MinimumSpend s:
                    Amount(s.Amount, $"{path}.amount");
                    Items(s.Items, $"{path}.items");
                    break;
                case Condition.MinimumQuantity q:
                    Items(q.Items, $"{path}.items");
                    break;
            }
        }

        for (var i = 0; i < definition.Rewards.Count; i++)
        {
            var path = $"rewards[{i}]";
            switch (definition.Rewards[i])
            {
                case Reward.PercentOffItems r:
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.AmountOffItems r:
                    Amount(r.Amount, $"{path}.amount");
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.FixedPricePerItem r:
                    Amount(r.Price, $"{path}.price");
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.PercentOffOrder r:
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.AmountOffOrder r:
                    Amount(r.Amount, $"{path}.amount");
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.SpendTiers r:
                    for (var t = 0; t < (r.Tiers?.Count ?? 0); t++)
                    {
                        Amount(r.Tiers![t]?.Threshold, $"{path}.tiers[{t}].threshold");
                        Amount(r.Tiers[t]?.Amount, $"{path}.tiers[{t}].amount");
                    }

                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.SpendEvery r:
                    Amount(r.Every, $"{path}.every");
                    Amount(r.Save, $"{path}.save");
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.BuyXGetY r:
                    if (r.Discount == DiscountKind.Amount)
                    {
                        Amount(r.Value, $"{path}.value");
                    }

                    Items(r.Buy, $"{path}.buy");
                    Items(r.Get, $"{path}.get");
                    break;
                case Reward.BundlePrice r:
                    Amount(r.Price, $"{path}.price");
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.NthItemDiscount r:
                    Items(r.Items, $"{path}.items");
                    break;
                case Reward.MemberPrice r:
                    for (var p = 0; p < (r.Prices?.Count ?? 0); p++)
                    {
                        Amount(r.Prices![p]?.Price, $"{path}.prices[{p}].price");
                    }

                    break;
                case Reward.ShippingDiscount r:
                    if (r.Kind == DiscountKind.Amount)
                    {
                        Amount(r.Value, $"{path}.value");
                    }

                    break;
            }
        }

        return problems;
    }

    /// <summary>Whether an amount is a whole number of the currency's minor units (1.50 fits EUR, 1.005 and 0.4 JPY do not).</summary>
    public static bool FitsMinorUnits(decimal amount, int minorUnits) =>
        amount.Scale <= minorUnits || decimal.Round(amount, minorUnits) == amount;

    private static void ValidateValidity(PromotionValidity? validity, Action<string, string> problem)
    {
        if (validity is null)
        {
            return;
        }

        if (!TimeZoneInfo.TryFindSystemTimeZoneById(validity.TimeZone ?? string.Empty, out _))
        {
            problem("validity.timeZone", $"unknown time zone '{validity.TimeZone}'");
        }

        if (validity.Start is { } start && validity.End is { } end && end <= start)
        {
            problem("validity.end", "must be after validity.start");
        }

        for (var i = 0; i < validity.DayParts.Count; i++)
        {
            var part = validity.DayParts[i];
            if (part.Days is not { Count: > 0 })
            {
                problem($"validity.dayParts[{i}].days", "must list at least one day");
            }

            if (part.From == part.To)
            {
                problem($"validity.dayParts[{i}].to", "must differ from from");
            }
        }
    }

    private static void ValidatePredicate(ItemPredicate? predicate, string path, Action<string, string> problem)
    {
        switch (predicate)
        {
            case ItemPredicate.Sku { Values.Count: 0 }:
            case ItemPredicate.Category { Values.Count: 0 }:
            case ItemPredicate.Brand { Values.Count: 0 }:
            case ItemPredicate.Tag { Values.Count: 0 }:
                problem($"{path}.values", "must list at least one value");
                break;
            case ItemPredicate.PriceRange { Min: { } min, Max: { } max } when max < min:
                problem($"{path}.max", "must not be less than min");
                break;
            case ItemPredicate.PriceRange { Min: null, Max: null }:
                problem(path, "needs min or max");
                break;
            case ItemPredicate.AllOf all:
                ValidateParts(all.Predicates, path, problem);
                break;
            case ItemPredicate.AnyOf any:
                ValidateParts(any.Predicates, path, problem);
                break;
            case ItemPredicate.Exclude exclude:
                if (exclude.Predicate is null)
                {
                    problem($"{path}.predicate", "is required");
                }

                ValidatePredicate(exclude.Predicate, $"{path}.predicate", problem);
                break;
        }
    }

    private static void ValidateParts(IReadOnlyList<ItemPredicate> parts, string path, Action<string, string> problem)
    {
        if (parts.Count == 0)
        {
            problem($"{path}.predicates", "must have at least one predicate");
        }

        for (var i = 0; i < parts.Count; i++)
        {
            ValidatePredicate(parts[i], $"{path}.predicates[{i}]", problem);
        }
    }

    private static void ValidateReward(Reward reward, StackingClass promotionClass, string path, Action<string, string> problem)
    {
        var rewardClass = reward switch
        {
            Reward.PercentOffOrder or Reward.AmountOffOrder or Reward.SpendTiers or Reward.SpendEvery or Reward.FreeGift => StackingClass.Order,
            Reward.ShippingDiscount => StackingClass.Shipping,
            _ => StackingClass.Item,
        };
        if (rewardClass != promotionClass)
        {
            problem(path, $"a {TypeName(reward)} reward belongs to the {rewardClass} class, not {promotionClass}");
        }

        switch (reward)
        {
            case Reward.PercentOffItems r:
                Percent(r.Percent, $"{path}.percent", problem);
                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.AmountOffItems r:
                Positive(r.Amount, $"{path}.amount", problem);
                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.FixedPricePerItem r:
                NotNegative(r.Price, $"{path}.price", problem);
                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.PercentOffOrder r:
                Percent(r.Percent, $"{path}.percent", problem);
                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.AmountOffOrder r:
                Positive(r.Amount, $"{path}.amount", problem);
                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.SpendTiers r:
                if (r.Tiers.Count == 0)
                {
                    problem($"{path}.tiers", "must have at least one tier");
                }

                for (var i = 0; i < r.Tiers.Count; i++)
                {
                    var tier = r.Tiers[i];
                    Positive(tier.Threshold, $"{path}.tiers[{i}].threshold", problem);
                    if (i > 0 && tier.Threshold <= r.Tiers[i - 1].Threshold)
                    {
                        problem($"{path}.tiers[{i}].threshold", $"must be greater than tiers[{i - 1}]");
                    }

                    if ((tier.Amount is null) == (tier.Percent is null))
                    {
                        problem($"{path}.tiers[{i}]", "needs exactly one of amount or percent");
                    }

                    if (tier.Amount is { } amount)
                    {
                        Positive(amount, $"{path}.tiers[{i}].amount", problem);
                    }

                    if (tier.Percent is { } percent)
                    {
                        Percent(percent, $"{path}.tiers[{i}].percent", problem);
                    }
                }

                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.SpendEvery r:
                Positive(r.Every, $"{path}.every", problem);
                Positive(r.Save, $"{path}.save", problem);
                if (r.MaxApplications is <= 0)
                {
                    problem($"{path}.maxApplications", "must be positive");
                }

                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.BuyXGetY r:
                Between(r.BuyQuantity, 1, 128, $"{path}.buyQuantity", problem);
                Between(r.GetQuantity, 1, 128, $"{path}.getQuantity", problem);
                if (r.Discount == DiscountKind.Percent)
                {
                    Percent(r.Value, $"{path}.value", problem);
                }
                else if (r.Discount == DiscountKind.Amount)
                {
                    Positive(r.Value, $"{path}.value", problem);
                }

                if (r.MaxApplications is <= 0)
                {
                    problem($"{path}.maxApplications", "must be positive");
                }

                ValidatePredicate(r.Buy, $"{path}.buy", problem);
                ValidatePredicate(r.Get, $"{path}.get", problem);
                break;
            case Reward.BundlePrice r:
                Between(r.Quantity, 2, 64, $"{path}.quantity", problem);
                NotNegative(r.Price, $"{path}.price", problem);
                if (r.MaxApplications is <= 0)
                {
                    problem($"{path}.maxApplications", "must be positive");
                }

                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.NthItemDiscount r:
                Between(r.N, 2, 1000, $"{path}.n", problem);
                Percent(r.Percent, $"{path}.percent", problem);
                if (r.MaxApplications is <= 0)
                {
                    problem($"{path}.maxApplications", "must be positive");
                }

                ValidatePredicate(r.Items, $"{path}.items", problem);
                break;
            case Reward.MemberPrice r:
                if (r.Tiers is not { Count: > 0 })
                {
                    problem($"{path}.tiers", "must list at least one member tier");
                }

                if (r.Prices is not { Count: > 0 })
                {
                    problem($"{path}.prices", "must list at least one sku price");
                }

                for (var i = 0; i < (r.Prices?.Count ?? 0); i++)
                {
                    NotNegative(r.Prices![i].Price, $"{path}.prices[{i}].price", problem);
                    if (string.IsNullOrWhiteSpace(r.Prices[i].Sku))
                    {
                        problem($"{path}.prices[{i}].sku", "is required");
                    }
                    else if (r.Prices.Take(i).Any(p => string.Equals(p.Sku, r.Prices[i].Sku, StringComparison.Ordinal)))
                    {
                        // Two prices for one sku: which one applies would be an accident of order.
                        problem($"{path}.prices[{i}].sku", $"duplicate sku '{r.Prices[i].Sku}'");
                    }
                }

                break;
            case Reward.FreeGift r:
                if (string.IsNullOrWhiteSpace(r.Sku))
                {
                    problem($"{path}.sku", "is required");
                }

                Between(r.Quantity, 1, 100, $"{path}.quantity", problem);
                break;
            case Reward.ShippingDiscount r:
                if (r.Kind == DiscountKind.Percent)
                {
                    Percent(r.Value, $"{path}.value", problem);
                }
                else if (r.Kind == DiscountKind.Amount)
                {
                    Positive(r.Value, $"{path}.value", problem);
                }

                break;
            case null:
                problem(path, "is required");
                break;
        }
    }

    private static string TypeName(Reward reward) =>
        char.ToLowerInvariant(reward.GetType().Name[0]) + reward.GetType().Name[1..];

    private static void Percent(decimal value, string path, Action<string, string> problem)
    {
        if (value <= 0 || value > 100)
        {
            problem(path, "must be greater than 0 and at most 100");
        }
        else if (decimal.Round(value, 4) != value)
        {
            problem(path, "at most 4 decimal places");
        }
    }

    private static void Positive(decimal value, string path, Action<string, string> problem)
    {
        if (value <= 0)
        {
            problem(path, "must be positive");
        }
    }

    private static void NotNegative(decimal value, string path, Action<string, string> problem)
    {
        if (value < 0)
        {
            problem(path, "must not be negative");
        }
    }

    private static void Between(int value, int min, int max, string path, Action<string, string> problem)
    {
        if (value < min || value > max)
        {
            problem(path, string.Create(CultureInfo.InvariantCulture, $"must be between {min} and {max}"));
        }
    }
}
