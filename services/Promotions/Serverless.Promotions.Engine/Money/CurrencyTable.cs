using System.Collections.Frozen;

namespace Serverless.Promotions.Engine.Money;

/// <summary>ISO 4217 minor units for the currencies we sell in. An unknown currency is an error, never a guess.</summary>
public static class CurrencyTable
{
    private static readonly FrozenDictionary<string, int> MinorUnitsByCode = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["USD"] = 2, ["EUR"] = 2, ["GBP"] = 2, ["CHF"] = 2, ["CAD"] = 2, ["AUD"] = 2, ["SEK"] = 2, ["NOK"] = 2, ["DKK"] = 2, ["PLN"] = 2,
        ["CZK"] = 2, ["CNY"] = 2, ["INR"] = 2, ["MXN"] = 2, ["BRL"] = 2, ["NZD"] = 2, ["SGD"] = 2, ["HKD"] = 2, ["ZAR"] = 2, ["AED"] = 2,
        ["JPY"] = 0, ["KRW"] = 0, ["ISK"] = 0, ["CLP"] = 0, ["VND"] = 0, ["HUF"] = 2,
        ["KWD"] = 3, ["BHD"] = 3, ["OMR"] = 3, ["JOD"] = 3, ["TND"] = 3,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static bool TryGetMinorUnits(string? code, out int minorUnits)
    {
        minorUnits = 0;
        return code is not null && MinorUnitsByCode.TryGetValue(code, out minorUnits);
    }

    public static int MinorUnits(string code) =>
        TryGetMinorUnits(code, out var units) ? units : throw new ArgumentException($"Unknown currency '{code}'.", nameof(code));
}
