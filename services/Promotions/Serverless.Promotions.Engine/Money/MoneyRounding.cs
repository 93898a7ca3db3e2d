namespace Serverless.Promotions.Engine.Money;

/// <summary>Rounds amounts to a currency's minor unit with the tenant's rounding mode.</summary>
public readonly record struct MoneyRounding(int MinorUnits, RoundingMode Mode)
{
    private readonly decimal _scale = Pow10(MinorUnits);

    /// <summary>Amounts at or above this do not fit a long in minor units (computed once: decimal division is slow).</summary>
    private readonly decimal _maxMinorable = long.MaxValue / Pow10(MinorUnits);

    public decimal MinorUnit => 1m / _scale;

    public decimal Round(decimal amount) =>
        Math.Round(amount, MinorUnits, Mode == RoundingMode.HalfUp ? MidpointRounding.AwayFromZero : MidpointRounding.ToEven);

    /// <summary>Rounds down to the minor unit: used where rounding up would overshoot a cap or a price.</summary>
    public decimal Floor(decimal amount) => Math.Round(amount, MinorUnits, MidpointRounding.ToZero);

    /// <summary>An amount already in minor units (e.g. 12.34 → 1234); anything finer is cut off.</summary>
    public long ToMinor(decimal amount) => amount >= _maxMinorable ? long.MaxValue : (long)(amount * _scale);

    /// <summary>
    /// Minor units back to an amount: the same value and representation as <c>minor / 10^MinorUnits</c> (the exact
    /// quotient with trailing zeros dropped, e.g. 1200 → 12, 1230 → 12.3) without a decimal division.
    /// </summary>
    public decimal FromMinor(long minor)
    {
        if (minor == long.MinValue || (uint)MinorUnits > 28)
        {
            return minor / _scale;
        }

        var negative = minor < 0;
        var magnitude = (ulong)(negative ? -minor : minor);
        var scale = MinorUnits;
        while (scale > 0 && magnitude % 10 == 0)
        {
            magnitude /= 10;
            scale--;
        }

        return magnitude == 0 ? 0m : new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), 0, negative, (byte)scale);
    }

    private static decimal Pow10(int n)
    {
        var result = 1m;
        for (var i = 0; i < n; i++)
        {
            result *= 10m;
        }

        return result;
    }
}
