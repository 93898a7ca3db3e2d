namespace Serverless.Pipelines.Definitions;

/// <summary>
/// How often a step is tried again (<see cref="Limit"/> retries after the first attempt) and how long to wait
/// first: <see cref="Backoff"/>, doubled per retry when <see cref="Exponential"/>.
/// </summary>
public sealed record RetryPolicy
{
    public int Limit { get; init; }

    public TimeSpan Backoff { get; init; } = TimeSpan.Zero;

    public bool Exponential { get; init; }

    public IReadOnlyList<RetryOn> On { get; init; } = [RetryOn.Failure, RetryOn.Timeout];

    /// <summary>The wait before attempt <paramref name="nextAttempt"/> (2 for the first retry).</summary>
    public TimeSpan DelayBefore(int nextAttempt)
    {
        if (!Exponential || nextAttempt <= 2)
        {
            return Backoff;
        }

        // Cap the exponent: a long retry chain must not overflow TimeSpan.
        var factor = Math.Pow(2, Math.Min(nextAttempt - 2, 20));
        return TimeSpan.FromTicks((long)Math.Min(Backoff.Ticks * factor, TimeSpan.FromDays(1).Ticks));
    }
}
