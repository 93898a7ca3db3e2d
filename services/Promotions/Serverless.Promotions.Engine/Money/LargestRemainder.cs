namespace Serverless.Promotions.Engine.Money;

/// <summary>
/// Splits an amount over weights so the parts, in minor units, sum exactly to the amount: each part gets its floor,
/// then the leftover minor units go to the largest fractional remainders (ties to the lower index, for determinism).
/// </summary>
public static class LargestRemainder
{
    /// <param name="totalMinor">Amount to split, in minor units (≥ 0).</param>
    /// <param name="weights">Non-negative weights; parts are never more than <paramref name="caps"/> when given.</param>
    /// <param name="parts">Receives the parts in minor units.</param>
    public static void Allocate(long totalMinor, ReadOnlySpan<decimal> weights, Span<long> parts)
    {
        var weightSum = 0m;
        foreach (var weight in weights)
        {
            weightSum += weight;
        }

        parts.Clear();
        if (totalMinor <= 0 || weightSum <= 0)
        {
            return;
        }

        Span<decimal> remainders = weights.Length <= 64 ? stackalloc decimal[weights.Length] : new decimal[weights.Length];
        var allocated = 0L;
        for (var i = 0; i < weights.Length; i++)
        {
            var exact = totalMinor * weights[i] / weightSum;
            var floor = decimal.Floor(exact);
            parts[i] = (long)floor;
            remainders[i] = exact - floor;
            allocated += parts[i];
        }

        for (var leftover = totalMinor - allocated; leftover > 0; leftover--)
        {
            var best = -1;
            for (var i = 0; i < weights.Length; i++)
            {
                if (weights[i] > 0 && (best < 0 || remainders[i] > remainders[best]))
                {
                    best = i;
                }
            }

            parts[best]++;
            remainders[best] = -1m;
        }
    }
}
