namespace Serverless.Webhooks.Outbound;

/// <summary>Whether a send may happen now, and if not, the earliest time it may.</summary>
public sealed record RateLimitDecision(bool Allowed, DateTimeOffset NextSendAt);

/// <summary>
/// One send's outcome (<see cref="SmoothRateLimit.Decide"/>): the decision and, when it is allowed, the scope's new
/// theoretical arrival time (Unix time in ticks) to store and how long that value constrains anything (its lifetime:
/// once it has passed, no value and this one decide alike). A refused send stores nothing.
/// </summary>
public readonly record struct RateLimitStep(RateLimitDecision Decision, long TheoreticalArrival, TimeSpan Lifetime);

/// <summary>
/// A smooth rate limit shared by every instance, without I/O: the generic cell rate algorithm (GCRA, a token bucket
/// kept as one number). A scope keeps one value, its theoretical arrival time (TAT); a send at <c>now</c> is allowed
/// when <c>max(TAT, now) - now ≤ <see cref="Tolerance"/></c> and then moves the TAT to <c>max(TAT, now) + <see cref="Interval"/></c>;
/// a refused one may go at <c>max(TAT, now) - Tolerance</c>, exactly (earlier it would be refused again, then it is
/// allowed unless another send took the place first).
/// <para>
/// The interval is 1/rate, rounded up to a whole tick (100 ns) and at most a day; the tolerance is
/// <c><see cref="Sends"/> × Interval − <see cref="Period"/></c>, the most that keeps this guarantee: of the sends a scope allows,
/// at most <see cref="Sends"/> are decided in any half-open interval of length <see cref="Period"/> — at a rate of 1/s or more
/// at most ⌈rate⌉ in any one second (wherever it starts, so never twice the rate across a second boundary), below 1/s at most
/// one per 1/rate seconds (consecutive sends at least 1/rate apart, so at most one in any second). More generally the
/// first and the k-th of any k sends are at least <c>(k − 1) × Interval − Tolerance</c> apart. A whole-number rate has no
/// tolerance, so its sends are at least 1/rate apart (10/s: one per 100 ms, never two at once); a fractional one
/// (2.5/s: interval 400 ms, tolerance 200 ms) lets a send come early by the tolerance. The sustained rate is the rate
/// (never above it; below it only by the rounding to ticks, under 0.1 % up to 10,000/s). Rates above 10,000,000/s count
/// as that (one send per tick), rates below one per day as one per day.
/// </para>
/// <para>
/// Times are the deciding instance's clock. A stored TAT further ahead than one send can put it
/// (<c>now + Interval + Tolerance</c>, written by a clock that runs ahead) counts as exactly that far, so it
/// holds the scope back one interval at most rather than by the clock's error.
/// </para>
/// </summary>
public readonly record struct SmoothRateLimit(TimeSpan Interval, TimeSpan Tolerance, int Sends, TimeSpan Period)
{
    /// <summary>The longest interval between sends: rates below one per day count as one per day.</summary>
    public static readonly TimeSpan LongestInterval = TimeSpan.FromDays(1);

    /// <summary>The highest rate told apart: one send per tick.</summary>
    public const double MaxRatePerSecond = TimeSpan.TicksPerSecond;

    /// <summary>
    /// A token bucket of ⌈rate⌉ (one below 1/s): up to ⌈rate⌉ sends may go at once, then one per interval as it refills,
    /// so the sustained rate is the rate while a burst is not refused (an inbound source: senders such as GitHub fire
    /// several deliveries at once and never retry a 429). Of the sends it allows, at most <see cref="Sends"/> (⌈rate⌉)
    /// fall in any half-open interval of one <see cref="Period"/> (= <see cref="Interval"/>), so any second holds at most
    /// about twice the rate: a full bucket and its refill.
    /// </summary>
    public static SmoothRateLimit WithBurst(double ratePerSecond)
    {
        var smooth = For(ratePerSecond);
        return new SmoothRateLimit(smooth.Interval, smooth.Interval * (smooth.Sends - 1), smooth.Sends, smooth.Interval);
    }

    public static SmoothRateLimit For(double ratePerSecond)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "The rate must be a positive finite number of sends per second.");
        }

        var rate = Math.Min(ratePerSecond, MaxRatePerSecond);
        if (rate >= 1)
        {
            // At least 1/rate (so never faster than the rate), and at least a second / ⌈rate⌉ in whole ticks, so the
            // tolerance below is never negative whatever the rounding of the division.
            var sends = (int)Math.Ceiling(rate);
            var interval = Math.Max((long)Math.Ceiling(TimeSpan.TicksPerSecond / rate), (TimeSpan.TicksPerSecond + sends - 1) / sends);
            return new SmoothRateLimit(TimeSpan.FromTicks(interval), TimeSpan.FromTicks((sends * interval) - TimeSpan.TicksPerSecond), sends, TimeSpan.FromSeconds(1));
        }

        var slow = TimeSpan.FromTicks((long)Math.Min(Math.Ceiling(TimeSpan.TicksPerSecond / rate), LongestInterval.Ticks));
        return new SmoothRateLimit(slow, TimeSpan.Zero, 1, slow);
    }

    /// <summary>
    /// With the scope's stored theoretical arrival time (<see cref="UnixTicks"/>; null when there is none): may a send go
    /// at <paramref name="now"/>, and if so what to store.
    /// </summary>
    public RateLimitStep Decide(long? theoreticalArrival, DateTimeOffset now)
    {
        var at = UnixTicks(now);
        var start = Math.Clamp(theoreticalArrival ?? at, at, at + Interval.Ticks + Tolerance.Ticks);
        var earliest = start - Tolerance.Ticks;
        if (earliest > at)
        {
            return new RateLimitStep(new RateLimitDecision(false, FromUnixTicks(earliest)), start, TimeSpan.Zero);
        }

        var next = start + Interval.Ticks;
        return new RateLimitStep(new RateLimitDecision(true, now), next, TimeSpan.FromTicks(next - at));
    }

    /// <summary>When the send after the one that moved the theoretical arrival time to <paramref name="theoreticalArrival"/> may go.</summary>
    public DateTimeOffset EarliestAfter(long theoreticalArrival) => FromUnixTicks(theoreticalArrival - Tolerance.Ticks);

    /// <summary>A time as ticks since the Unix epoch (the stored form of a theoretical arrival time).</summary>
    public static long UnixTicks(DateTimeOffset time) => time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;

    public static DateTimeOffset FromUnixTicks(long ticks) => new(DateTimeOffset.UnixEpoch.UtcTicks + ticks, TimeSpan.Zero);
}
