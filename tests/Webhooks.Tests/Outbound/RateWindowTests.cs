using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class RateWindowTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000);

    [Theory]
    [InlineData(5, 1, 5)]
    [InlineData(2.5, 1, 2)]
    [InlineData(1, 1, 1)]
    [InlineData(0.5, 2, 1)]
    [InlineData(0.3, 4, 1)]
    [InlineData(1e-9, 86_400, 1)]
    public void A_rate_becomes_whole_sends_per_whole_seconds(double rate, int seconds, int limit)
    {
        var window = RateWindow.At(T0, rate);
        Assert.Equal((seconds, limit), (window.Seconds, window.Limit));
    }

    [Fact]
    public void Windows_are_aligned_to_the_epoch_so_every_instance_agrees()
    {
        Assert.Equal(RateWindow.At(T0, 3), RateWindow.At(T0.AddMilliseconds(999), 3));
        Assert.NotEqual(RateWindow.At(T0, 3), RateWindow.At(T0.AddSeconds(1), 3));
        Assert.Equal(T0.AddSeconds(1), RateWindow.At(T0.AddMilliseconds(400), 3).NextStart);
        Assert.Equal(T0.AddSeconds(4), RateWindow.At(T0.AddSeconds(1), 0.25).NextStart);
    }

    [Fact]
    public void A_full_window_defers_to_the_next_one()
    {
        var now = T0.AddMilliseconds(250);
        var window = RateWindow.At(now, 2);
        Assert.Equal(new RateLimitDecision(true, now), window.Decide(1, now));
        Assert.Equal(new RateLimitDecision(false, T0.AddSeconds(1)), window.Decide(2, now));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Rejects_a_rate_that_is_not_positive_and_finite(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => RateWindow.At(T0, rate));
}
