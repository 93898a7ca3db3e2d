using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Promotions.Engine.Validation;

/// <summary>Every problem with a basket, each with its path (e.g. <c>lines[3].quantity</c>). Empty = can be priced.</summary>
public static class BasketValidator
{
    public const int MaxLines = 1000;

    /// <summary>Units per line; pricing works per unit (so "1 of 3 free" is exact), which bounds the work per basket.</summary>
    public const int MaxQuantity = 10_000;

    /// <summary>
    /// Largest line total (unit price × quantity) and shipping amount, in major units: pricing works in whole minor units
    /// in 64-bit integers, and 1,000 lines of this at 3 decimals still fit with room for percentages.
    /// </summary>
    public const decimal MaxAmount = 10_000_000_000m;

    public static IReadOnlyList<ValidationProblem> Validate(Basket basket)
    {
        ArgumentNullException.ThrowIfNull(basket);
        List<ValidationProblem>? problems = null;
        void Problem(string path, string message) => (problems ??= []).Add(new ValidationProblem(path, message));

        var knownCurrency = CurrencyTable.TryGetMinorUnits(basket.Currency, out var minorUnits);
        if (!knownCurrency)
        {
            Problem("currency", $"unknown currency '{basket.Currency}'");
        }

        if (basket.ShippingAmount < 0)
        {
            Problem("shippingAmount", "must not be negative");
        }
        else if (basket.ShippingAmount > MaxAmount)
        {
            Problem("shippingAmount", "at most 10,000,000,000");
        }
        else if (problems is null && HasMoreDecimals(basket.ShippingAmount, minorUnits))
        {
            Problem("shippingAmount", $"has more than {minorUnits} decimal places");
        }

        var lines = basket.Lines ?? [];
        if (lines.Count > MaxLines)
        {
            Problem("lines", $"at most {MaxLines} lines (got {lines.Count})");
        }

        // Small baskets compare ids pairwise; a set only pays for itself on long ones.
        var lineIds = lines.Count > 64 ? new HashSet<string>(StringComparer.Ordinal) : null;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i];
            if (string.IsNullOrWhiteSpace(line.LineId))
            {
                Problem($"lines[{i}].lineId", "is required");
            }
            else if (lineIds is not null ? !lineIds.Add(line.LineId) : SeenBefore(lines, i))
            {
                Problem($"lines[{i}].lineId", $"duplicate line id '{line.LineId}'");
            }

            if (string.IsNullOrWhiteSpace(line.Sku))
            {
                Problem($"lines[{i}].sku", "is required");
            }

            if (line.Quantity <= 0)
            {
                Problem($"lines[{i}].quantity", "must be positive");
            }
            else if (line.Quantity > MaxQuantity)
            {
                Problem($"lines[{i}].quantity", $"at most {MaxQuantity} per line");
            }

            if (line.UnitPrice < 0)
            {
                Problem($"lines[{i}].unitPrice", "must not be negative");
            }
            else if (line.UnitPrice > MaxAmount || (line.UnitPrice > MaxAmount / MaxQuantity && line.UnitPrice * Math.Clamp(line.Quantity, 1, MaxQuantity) > MaxAmount))
            {
                Problem($"lines[{i}].unitPrice", "the line total (unitPrice × quantity) must be at most 10,000,000,000");
            }
            else if (knownCurrency && HasMoreDecimals(line.UnitPrice, minorUnits))
            {
                Problem($"lines[{i}].unitPrice", $"has more than {minorUnits} decimal places for {basket.Currency}");
            }

            if (line.Currency is not null && !string.Equals(line.Currency, basket.Currency, StringComparison.Ordinal))
            {
                Problem($"lines[{i}].currency", CurrencyTable.TryGetMinorUnits(line.Currency, out _)
                    ? $"mixed currencies: '{line.Currency}' in a {basket.Currency} basket"
                    : $"unknown currency '{line.Currency}'");
            }
        }

        return problems is null ? [] : problems;
    }

    /// <summary>
    /// An earlier line (with a non-blank id, as the set would have held) has the same id. The caller has checked that
    /// this id is not blank, so an equal one is not blank either. Comparing the last characters first skips the call
    /// into the string comparison for nearly every pair (ids usually differ at the end: l1, l2, …).
    /// </summary>
    private static bool SeenBefore(IReadOnlyList<BasketLine> lines, int index)
    {
        var id = lines[index].LineId;
        var last = id[^1];
        for (var j = 0; j < index; j++)
        {
            if (lines[j].LineId is { Length: > 0 } other && other.Length == id.Length && other[^1] == last && string.Equals(other, id, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// <c>decimal.Round(amount, minorUnits) != amount</c>, without rounding when the amount's scale already has at most
    /// <paramref name="minorUnits"/> decimals (then rounding cannot change it).
    /// </summary>
    private static bool HasMoreDecimals(decimal amount, int minorUnits) =>
        amount.Scale > minorUnits && decimal.Round(amount, minorUnits) != amount;
}
