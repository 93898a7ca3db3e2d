namespace Serverless.Promotions.Engine.Money;

/// <summary>Rounds amounts to a currency's minor unit with the tenant's rounding mode.</summary>
public readonly record struct MoneyRounding(int MinorUnits, RoundingMode Mode)
{
    private readonly decimal _scale = Pow10(MinorUnits);

    public decimal MinorUnit => 1m / _scale;

    public decimal Round(decimal amount) =>
        Math.Round(amount, MinorUnits, Mode == RoundingMode.HalfUp ? MidpointRounding.AwayFromZero : MidpointRounding.ToEven);

    /// <summary>Rounds down to the minor unit: used where rounding up would overshoot a cap or a price.</summary>
    public decimal Floor(decimal amount) => Math.Round(amount, MinorUnits, MidpointRounding.ToZero);

    /// <summary>An amount already in minor units (e.g. 12.34 → 1234); anything finer is cut off.</summary>
    public long ToMinor(decimal amount) => amount >= long.MaxValue / _scale ? long.MaxValue : (long)(amount * _scale);

    public decimal FromMinor(long minor) => minor / _scale;

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
