namespace Serverless.Promotions.Engine.Money;

/// <summary>Rounds amounts to a currency's minor unit with the tenant's rounding mode.</summary>
public readonly record struct MoneyRounding(int MinorUnits, RoundingMode Mode)
{
    public decimal MinorUnit => MinorUnits switch { 0 => 1m, 1 => 0.1m, 2 => 0.01m, 3 => 0.001m, _ => 1m / Pow10(MinorUnits) };

    public decimal Round(decimal amount) =>
        Math.Round(amount, MinorUnits, Mode == RoundingMode.HalfUp ? MidpointRounding.AwayFromZero : MidpointRounding.ToEven);

    /// <summary>Rounds down to the minor unit: used where rounding up would overshoot a cap or a price.</summary>
    public decimal Floor(decimal amount) => Math.Round(amount, MinorUnits, MidpointRounding.ToZero);

    public long ToMinor(decimal amount) => (long)(amount * Pow10(MinorUnits));

    public decimal FromMinor(long minor) => minor / Pow10(MinorUnits);

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
