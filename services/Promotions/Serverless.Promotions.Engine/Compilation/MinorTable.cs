using Serverless.Promotions.Engine.Money;

namespace Serverless.Promotions.Engine.Compilation;

/// <summary>
/// A definition amount rounded to a currency and in its minor units, computed at compile time for every currency
/// precision the table knows (0–3 decimals) and both rounding modes: the search evaluates a basket many times and
/// rounding a decimal per reward per evaluation was a large part of it. Other precisions are computed on the spot.
/// </summary>
internal sealed class MinorTable
{
    private const int MaxUnits = 3;
    private readonly decimal _amount;
    private readonly bool _floor;
    private readonly long[] _byPrecision = new long[(MaxUnits + 1) * 2];

    /// <param name="floor">Round down first (caps), as <c>Round(Floor(amount))</c>.</param>
    public MinorTable(decimal amount, bool floor = false)
    {
        _amount = amount;
        _floor = floor;
        for (var units = 0; units <= MaxUnits; units++)
        {
            _byPrecision[units * 2] = Compute(new MoneyRounding(units, RoundingMode.HalfEven));
            _byPrecision[(units * 2) + 1] = Compute(new MoneyRounding(units, RoundingMode.HalfUp));
        }
    }

    /// <summary><c>rounding.ToMinor(rounding.Round(amount))</c> (of the floored amount for a cap).</summary>
    public long For(MoneyRounding rounding) =>
        (uint)rounding.MinorUnits <= MaxUnits && rounding.Mode is RoundingMode.HalfEven or RoundingMode.HalfUp
            ? _byPrecision[(rounding.MinorUnits * 2) + (rounding.Mode == RoundingMode.HalfUp ? 1 : 0)]
            : Compute(rounding);

    private long Compute(MoneyRounding rounding) => rounding.ToMinor(rounding.Round(_floor ? rounding.Floor(_amount) : _amount));
}
