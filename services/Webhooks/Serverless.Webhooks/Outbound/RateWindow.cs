using System.Globalization;

namespace Serverless.Webhooks.Outbound;

/// <summary>Whether a send may happen now, and if not, the earliest time it may.</summary>
public sealed record RateLimitDecision(bool Allowed, DateTimeOffset NextSendAt);

/// <summary>
/// A fixed window of a rate limit shared by every instance, aligned to the Unix epoch so every instance agrees on it:
/// at most <see cref="Limit"/> sends are counted per window of <see cref="Seconds"/>. A rate of 1/s or more has
/// one-second windows of ⌊rate⌋ sends; a lower one windows of ⌈1/rate⌉ seconds with one send. A send refused in a
/// window may go at the start of the next.
/// </summary>
public readonly record struct RateWindow(long Index, int Seconds, int Limit)
{
    private const int LongestWindowSeconds = 24 * 60 * 60;

    public static RateWindow At(DateTimeOffset now, double ratePerSecond)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "The rate must be a positive finite number of sends per second.");
        }

        var seconds = ratePerSecond >= 1 ? 1 : (int)Math.Min(Math.Ceiling(1 / ratePerSecond), LongestWindowSeconds);
        var limit = (int)Math.Clamp(Math.Floor(ratePerSecond * seconds), 1, int.MaxValue);
        return new RateWindow(Math.DivRem(now.ToUnixTimeSeconds(), seconds, out _), seconds, limit);
    }

    /// <summary>When the next window starts (when a refused send may try again).</summary>
    public DateTimeOffset NextStart => DateTimeOffset.FromUnixTimeSeconds((Index + 1) * Seconds);

    /// <summary>The window's part of a counter key (its length too, so a changed rate starts a counter of its own).</summary>
    public string Key => Seconds.ToString(CultureInfo.InvariantCulture) + "s" + Index.ToString("D12", CultureInfo.InvariantCulture);

    /// <summary>With <paramref name="counted"/> sends in this window so far: may one more go now?</summary>
    public RateLimitDecision Decide(int counted, DateTimeOffset now) =>
        counted < Limit ? new RateLimitDecision(true, now) : new RateLimitDecision(false, NextStart);
}
