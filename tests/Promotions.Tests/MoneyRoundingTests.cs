using Serverless.Promotions.Engine.Money;

namespace Promotions.Tests;

public sealed class MoneyRoundingTests
{
    /// <summary>FromMinor avoids a decimal division; it must give the same value and the same representation (scale), which results serialise.</summary>
    [Fact]
    public void FromMinor_is_bit_identical_to_division_by_the_scale()
    {
        var random = new Random(11);
        foreach (var units in new[] { 0, 2, 3 })
        {
            var rounding = new MoneyRounding(units, RoundingMode.HalfEven);
            var scale = 1m;
            for (var i = 0; i < units; i++)
            {
                scale *= 10m;
            }

            var values = new List<long> { 0, 1, -1, 10, 100, 1000, 1200, 1230, 1234, -1200, -1230, long.MaxValue, long.MinValue + 1, long.MinValue, 99_999_999_999_990 };
            for (var i = 0; i < 20_000; i++)
            {
                values.Add(random.Next(4) switch
                {
                    0 => random.Next(-1000, 1000),
                    1 => random.Next(0, 100) * 100L,
                    2 => random.NextInt64(long.MinValue, long.MaxValue),
                    _ => random.NextInt64(-10_000_000, 10_000_000) * 10,
                });
            }

            foreach (var minor in values)
            {
                Assert.Equal(decimal.GetBits(minor / scale), decimal.GetBits(rounding.FromMinor(minor)));
            }
        }
    }
}
