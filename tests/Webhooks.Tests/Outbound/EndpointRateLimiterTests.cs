using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class EndpointRateLimiterTests
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Allows_a_burst_of_one_seconds_worth_then_says_when_the_next_send_may_go()
    {
        var limiter = new EndpointRateLimiter(4, T0);
        for (var i = 0; i < 4; i++)
        {
            Assert.True(limiter.TryAcquire(T0).Allowed);
        }

        var denied = limiter.TryAcquire(T0);
        Assert.False(denied.Allowed);
        Assert.InRange(denied.NextSendAt, T0.AddMilliseconds(250), T0.AddMilliseconds(251));
        Assert.True(limiter.TryAcquire(denied.NextSendAt).Allowed);
        Assert.False(limiter.TryAcquire(denied.NextSendAt).Allowed);
    }

    [Fact]
    public void Sustains_the_configured_rate_over_time()
    {
        var limiter = new EndpointRateLimiter(10, T0);
        var now = T0;
        var sent = 0;
        while (now < T0.AddSeconds(10))
        {
            var decision = limiter.TryAcquire(now);
            if (decision.Allowed)
            {
                sent++;
            }
            else
            {
                now = decision.NextSendAt;
            }
        }

        // 10 of initial burst plus 10 per second for 10 seconds.
        Assert.InRange(sent, 109, 110);
    }

    [Fact]
    public void Fractional_rates_space_sends_out()
    {
        var limiter = new EndpointRateLimiter(0.5, T0);
        Assert.True(limiter.TryAcquire(T0).Allowed);
        var denied = limiter.TryAcquire(T0.AddSeconds(1));
        Assert.False(denied.Allowed);
        Assert.InRange(denied.NextSendAt, T0.AddSeconds(2), T0.AddSeconds(2).AddMilliseconds(1));
    }

    [Fact]
    public void Idle_time_does_not_bank_more_than_one_seconds_worth()
    {
        var limiter = new EndpointRateLimiter(2, T0);
        var later = T0.AddHours(1);
        Assert.True(limiter.TryAcquire(later).Allowed);
        Assert.True(limiter.TryAcquire(later).Allowed);
        Assert.False(limiter.TryAcquire(later).Allowed);
    }

    [Fact]
    public void A_clock_stepping_back_neither_adds_nor_drains_tokens()
    {
        var limiter = new EndpointRateLimiter(1, T0);
        Assert.True(limiter.TryAcquire(T0).Allowed);
        var denied = limiter.TryAcquire(T0.AddSeconds(-30));
        Assert.False(denied.Allowed);
        Assert.True(denied.NextSendAt <= T0.AddSeconds(1).AddMilliseconds(1));
        Assert.True(limiter.TryAcquire(T0.AddSeconds(1)).Allowed);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Refuses_non_positive_rates(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new EndpointRateLimiter(rate, T0));
}
