using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class SmoothRateLimitTests
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.FromUnixTimeSeconds(1_800_000_000).AddMilliseconds(370);

    /// <summary>From the validators' whole range: an inbound source takes any positive rate, an endpoint 1–10,000/s.</summary>
    public static TheoryData<double> Rates => new(
        1e-9, 1.0 / 86_400, 0.001, 0.1, 0.3, 0.5, 0.999, 1, 1.0000001, 1.5, 2, 2.5, 3, 7.3, 10, 33.3, 99.9, 100, 999.5, 9_999, 10_000, 123_456.7, 1e12);

    [Theory]
    [InlineData(10, 1_000_000, 0, 10, 10_000_000)]
    [InlineData(2.5, 4_000_000, 2_000_000, 3, 10_000_000)]
    [InlineData(1.5, 6_666_667, 3_333_334, 2, 10_000_000)]
    [InlineData(1, 10_000_000, 0, 1, 10_000_000)]
    [InlineData(0.5, 20_000_000, 0, 1, 20_000_000)]
    [InlineData(0.001, 10_000_000_000, 0, 1, 10_000_000_000)]
    [InlineData(1e-9, 864_000_000_000, 0, 1, 864_000_000_000)]
    [InlineData(10_000, 1_000, 0, 10_000, 10_000_000)]
    [InlineData(9_999, 1_001, 9_999 * 1_001 - 10_000_000, 9_999, 10_000_000)]
    [InlineData(1e12, 1, 0, 10_000_000, 10_000_000)]
    public void A_rate_becomes_an_interval_and_the_largest_tolerance_that_keeps_the_guarantee(double rate, long interval, long tolerance, int sends, long period)
    {
        Assert.Equal(
            new SmoothRateLimit(TimeSpan.FromTicks(interval), TimeSpan.FromTicks(tolerance), sends, TimeSpan.FromTicks(period)),
            SmoothRateLimit.For(rate));
    }

    [Fact]
    public void A_whole_number_rate_spaces_its_sends_evenly_even_for_a_burst()
    {
        var limit = SmoothRateLimit.For(10);
        var first = limit.Decide(null, T0);
        Assert.Equal(new RateLimitDecision(true, T0), first.Decision);
        Assert.Equal(TimeSpan.FromMilliseconds(100), first.Lifetime);

        var second = limit.Decide(first.TheoreticalArrival, T0);
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(100)), second.Decision);
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(100)), limit.Decide(first.TheoreticalArrival, T0.AddMilliseconds(99.9999)).Decision);
        Assert.True(limit.Decide(first.TheoreticalArrival, T0.AddMilliseconds(100)).Decision.Allowed);
    }

    [Fact]
    public void The_old_window_boundary_burst_is_refused()
    {
        // The fixed window let 10 through at 0.999 s and 10 more at 1.000 s; now the second send waits 100 ms.
        var limit = SmoothRateLimit.For(10);
        var boundary = DateTimeOffset.FromUnixTimeSeconds(1_800_000_001);
        var tat = (long?)null;
        var allowed = 0;
        foreach (var at in Enumerable.Range(0, 10).Select(i => boundary.AddMilliseconds(-1)).Concat(Enumerable.Range(0, 10).Select(_ => boundary)))
        {
            var step = limit.Decide(tat, at);
            if (step.Decision.Allowed)
            {
                allowed++;
                tat = step.TheoreticalArrival;
            }
        }

        Assert.Equal(1, allowed);
    }

    [Fact]
    public void A_stored_time_from_a_clock_far_ahead_holds_the_scope_back_one_interval_at_most()
    {
        var limit = SmoothRateLimit.For(2);
        var hourAhead = SmoothRateLimit.UnixTicks(T0.AddHours(1));
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(500)), limit.Decide(hourAhead, T0).Decision);
        Assert.True(limit.Decide(null, T0).Decision.Allowed);
        Assert.True(limit.Decide(SmoothRateLimit.UnixTicks(T0.AddDays(-3)), T0).Decision.Allowed, "a time long past constrains nothing");
    }

    [Fact]
    public void The_stored_time_lives_until_it_stops_constraining()
    {
        var limit = SmoothRateLimit.For(0.001);
        var step = limit.Decide(null, T0);
        Assert.Equal(TimeSpan.FromSeconds(1000), step.Lifetime);
        Assert.Equal(T0.AddSeconds(1000), SmoothRateLimit.FromUnixTicks(step.TheoreticalArrival));
        Assert.Equal(new RateLimitDecision(false, T0.AddSeconds(1000)), limit.Decide(step.TheoreticalArrival, T0.AddSeconds(999)).Decision);
        Assert.Equal(T0, SmoothRateLimit.FromUnixTicks(SmoothRateLimit.UnixTicks(T0)));
    }

    /// <summary>
    /// Property over random send times (bursts at one instant, gaps around the interval, long pauses): whatever the limiter
    /// allows, no one-second interval holds more than ⌈rate⌉ of it (rates below 1/s: sends at least 1/rate apart); every
    /// refused send is told a time after now at which the same send is allowed and a tick before which it is not; and a
    /// sender that keeps retrying at the time it is told keeps the sustained rate.
    /// </summary>
    [Theory]
    [MemberData(nameof(Rates))]
    public void Random_send_times_never_exceed_the_guarantee_and_a_retry_at_the_returned_time_is_allowed(double rate)
    {
        var limit = SmoothRateLimit.For(rate);
        var interval = Math.Min(1 / Math.Min(rate, SmoothRateLimit.MaxRatePerSecond), SmoothRateLimit.LongestInterval.TotalSeconds);
        var perSecond = rate >= 1 ? (int)Math.Ceiling(Math.Min(rate, SmoothRateLimit.MaxRatePerSecond)) : 1;
        var sendsPerRun = (int)Math.Clamp(perSecond * 3.0, 40, 400_000);
        for (var seed = 0; seed < (sendsPerRun > 10_000 ? 3 : 20); seed++)
        {
            var allowed = RandomSends(limit, new Random(seed * 7919 + (int)(rate * 1000 % 1000)), sendsPerRun);

            AssertAtMost(allowed, perSecond, TimeSpan.TicksPerSecond, rate);
            if (rate < 1)
            {
                AssertAtMost(allowed, 1, (long)(interval * TimeSpan.TicksPerSecond), rate);
            }

            for (var i = 1; i < allowed.Count; i++)
            {
                Assert.True(allowed[i] - allowed[i - 1] >= limit.Interval.Ticks - limit.Tolerance.Ticks, $"at {rate}/s, two sends {allowed[i] - allowed[i - 1]} ticks apart");
            }
        }

        // A greedy sender (always retrying at the time it is told) keeps the rate: over 2,000 intervals it sends at least 2,000 times.
        var greedy = 0;
        long? greedyTat = null;
        var at = T0;
        var end = T0.AddTicks(limit.Interval.Ticks * 2000);
        while (at < end)
        {
            var step = limit.Decide(greedyTat, at);
            if (step.Decision.Allowed)
            {
                greedy++;
                greedyTat = step.TheoreticalArrival;
            }
            else
            {
                Assert.True(step.Decision.NextSendAt > at);
                at = step.Decision.NextSendAt;
            }
        }

        Assert.InRange(greedy, 2000, 2000 + limit.Sends);
    }

    [Theory]
    [MemberData(nameof(Rates))]
    public void With_a_burst_up_to_the_rate_goes_at_once_and_the_bucket_refills_at_the_rate(double rate)
    {
        var limit = SmoothRateLimit.WithBurst(rate);
        var smooth = SmoothRateLimit.For(rate);
        Assert.Equal((smooth.Interval, smooth.Sends, smooth.Interval), (limit.Interval, limit.Sends, limit.Period));

        // A full bucket goes at once (the first 1,000 of it checked); the next send waits one interval.
        long? tat = null;
        for (var i = 0; i < Math.Min(limit.Sends, 1_000); i++)
        {
            var step = limit.Decide(tat, T0);
            Assert.True(step.Decision.Allowed, $"send {i + 1} of a burst of {limit.Sends} at {rate}/s");
            tat = step.TheoreticalArrival;
        }

        if (limit.Sends <= 1_000)
        {
            Assert.Equal(new RateLimitDecision(false, T0 + limit.Interval), limit.Decide(tat, T0).Decision);
        }

        var sendsPerRun = (int)Math.Clamp(limit.Sends * 3.0, 40, 400_000);
        for (var seed = 0; seed < (sendsPerRun > 10_000 ? 3 : 20); seed++)
        {
            var allowed = RandomSends(limit, new Random(seed * 104_729 + (int)(rate * 1000 % 1000)), sendsPerRun);
            AssertAtMost(allowed, limit.Sends, limit.Period.Ticks, rate);

            // Over any span the bucket gives at most its size plus one send per interval.
            var span = allowed[^1] - allowed[0];
            Assert.True(allowed.Count <= limit.Sends + (span / limit.Interval.Ticks) + 1, $"at {rate}/s, {allowed.Count} sends in {TimeSpan.FromTicks(span)}");
        }
    }

    [Fact]
    public void Five_per_second_with_a_burst_takes_five_at_once_then_one_every_200_ms()
    {
        var limit = SmoothRateLimit.WithBurst(5);
        long? tat = null;
        var allowed = 0;
        foreach (var at in Enumerable.Repeat(T0, 8).Concat([T0.AddMilliseconds(199), T0.AddMilliseconds(200), T0.AddMilliseconds(399), T0.AddMilliseconds(400)]))
        {
            var step = limit.Decide(tat, at);
            if (step.Decision.Allowed)
            {
                allowed++;
                tat = step.TheoreticalArrival;
            }
        }

        Assert.Equal(5 + 2, allowed);
        Assert.Equal(new RateLimitDecision(false, T0.AddMilliseconds(600)), limit.Decide(tat, T0.AddMilliseconds(400)).Decision);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Rejects_a_rate_that_is_not_positive_and_finite(double rate) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => SmoothRateLimit.For(rate));

    /// <summary>Sends at random times (bursts at one instant, just too early, far apart), half of the refused ones retried at the time they were told; the allowed times.</summary>
    private static List<long> RandomSends(SmoothRateLimit limit, Random random, int count)
    {
        var allowed = new List<long>();
        long? tat = random.Next(3) == 0 ? SmoothRateLimit.UnixTicks(T0) + random.NextInt64(limit.Interval.Ticks + limit.Tolerance.Ticks) : null;
        var now = T0;
        for (var i = 0; i < count; i++)
        {
            now = now.AddTicks(random.Next(6) switch
            {
                0 or 1 => 0, // a burst at one instant
                2 => random.NextInt64(1, Math.Max(2, limit.Interval.Ticks / 4)),
                3 => Math.Max(1, limit.Interval.Ticks - limit.Tolerance.Ticks + random.NextInt64(-2, 3)),
                4 => random.NextInt64(1, Math.Max(2, limit.Interval.Ticks * 2)),
                _ => random.NextInt64(1, TimeSpan.TicksPerSecond * 2),
            });
            var step = limit.Decide(tat, now);
            if (step.Decision.Allowed)
            {
                Assert.Equal(now, step.Decision.NextSendAt);
                allowed.Add(SmoothRateLimit.UnixTicks(now));
                tat = step.TheoreticalArrival;
                continue;
            }

            Assert.True(step.Decision.NextSendAt > now);
            Assert.False(limit.Decide(tat, step.Decision.NextSendAt.AddTicks(-1)).Decision.Allowed, "the returned time is the earliest");
            Assert.True(limit.Decide(tat, step.Decision.NextSendAt).Decision.Allowed, "a retry at the returned time is allowed");
            if (random.Next(2) == 0)
            {
                // The sender retries at the time it was told.
                now = step.Decision.NextSendAt;
                var retry = limit.Decide(tat, now);
                Assert.True(retry.Decision.Allowed);
                allowed.Add(SmoothRateLimit.UnixTicks(now));
                tat = retry.TheoreticalArrival;
            }
        }

        return allowed;
    }

    /// <summary>No half-open interval of <paramref name="length"/> ticks holds more than <paramref name="most"/> of <paramref name="sends"/> (sorted).</summary>
    internal static void AssertAtMost(IReadOnlyList<long> sends, int most, long length, double rate)
    {
        var sorted = sends.Order().ToList();
        var first = 0;
        for (var last = 0; last < sorted.Count; last++)
        {
            while (sorted[last] - sorted[first] >= length)
            {
                first++;
            }

            Assert.True(last - first + 1 <= most, $"at {rate}/s, {last - first + 1} sends within {TimeSpan.FromTicks(length)} from {SmoothRateLimit.FromUnixTicks(sorted[first]):O} (at most {most})");
        }
    }
}
