namespace Serverless.Promotions.Engine.Money;

/// <summary>
/// Splits an amount over weights so the parts sum exactly to the amount: each part gets its floor, then the leftover
/// minor units go to the largest remainders (ties to the lower index, for determinism). Integer arithmetic throughout:
/// amounts and weights are in minor units, remainders are compared exactly.
/// </summary>
public static class LargestRemainder
{
    /// <param name="total">Amount to split, in minor units (≥ 0).</param>
    /// <param name="weights">Non-negative weights in minor units. When total ≤ the weights' sum no part exceeds its weight.</param>
    /// <param name="parts">Receives the parts in minor units.</param>
    public static void Allocate(long total, ReadOnlySpan<long> weights, Span<long> parts)
    {
        Int128 weightSum = 0;
        var maxWeight = 0L;
        foreach (var weight in weights)
        {
            weightSum += weight;
            maxWeight = Math.Max(maxWeight, weight);
        }

        parts.Clear();
        if (total <= 0 || weightSum <= 0)
        {
            return;
        }

        Span<long> remainders = weights.Length <= 128 ? stackalloc long[weights.Length] : new long[weights.Length];
        var allocated = 0L;
        if (weightSum <= long.MaxValue && (maxWeight == 0 || total <= long.MaxValue / maxWeight))
        {
            // Everyday amounts: 64-bit products are exact and much cheaper than 128-bit division.
            var sum = (long)weightSum;
            for (var i = 0; i < weights.Length; i++)
            {
                var exact = total * weights[i];
                parts[i] = exact / sum;
                remainders[i] = exact % sum;
                allocated += parts[i];
            }
        }
        else
        {
            for (var i = 0; i < weights.Length; i++)
            {
                var exact = (Int128)total * weights[i];
                parts[i] = (long)(exact / weightSum);
                remainders[i] = (long)(exact % weightSum);
                allocated += parts[i];
            }
        }

        for (var leftover = total - allocated; leftover > 0; leftover--)
        {
            var best = -1;
            for (var i = 0; i < weights.Length; i++)
            {
                if (weights[i] > 0 && remainders[i] >= 0 && (best < 0 || remainders[i] > remainders[best]))
                {
                    best = i;
                }
            }

            parts[best]++;
            remainders[best] = -1;
        }
    }
}
