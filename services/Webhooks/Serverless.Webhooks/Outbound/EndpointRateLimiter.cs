namespace Serverless.Webhooks.Outbound;

/// <summary>Whether a send may happen now, and if not, the earliest time it may.</summary>
public sealed record RateLimitDecision(bool Allowed, DateTimeOffset NextSendAt);

/// <summary>
/// Per-endpoint token bucket with injected time. It refills at <c>rateLimitPerSecond</c> and holds at most one
/// second's worth of tokens (at least one), so an idle endpoint gets a burst no bigger than its per-second rate.
/// </summary>
public sealed class EndpointRateLimiter
{
    private readonly double _ratePerSecond;
    private readonly double _capacity;
    private readonly Lock _gate = new();
    private double _tokens;
    private DateTimeOffset _lastRefill;

    public EndpointRateLimiter(double ratePerSecond, DateTimeOffset now)
    {
        if (!(ratePerSecond > 0) || double.IsInfinity(ratePerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(ratePerSecond), ratePerSecond, "The rate must be a positive finite number of sends per second.");
        }

        _ratePerSecond = ratePerSecond;
        _capacity = Math.Max(1, ratePerSecond);
        _tokens = _capacity;
        _lastRefill = now;
    }

    /// <summary>Takes a token if one is there; otherwise says when the next one will be.</summary>
    public RateLimitDecision TryAcquire(DateTimeOffset now)
    {
        lock (_gate)
        {
            Refill(now);
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return new RateLimitDecision(true, now);
            }

            var missing = 1 - _tokens;
            var wait = TimeSpan.FromSeconds(missing / _ratePerSecond);

            // Round up one tick so that asking again at NextSendAt always succeeds despite double rounding.
            return new RateLimitDecision(false, Later(now, _lastRefill) + wait + TimeSpan.FromTicks(1));
        }
    }

    private void Refill(DateTimeOffset now)
    {
        // A clock that steps back must not drain the bucket: elapsed time is never negative.
        if (now <= _lastRefill)
        {
            return;
        }

        _tokens = Math.Min(_capacity, _tokens + ((now - _lastRefill).TotalSeconds * _ratePerSecond));
        _lastRefill = now;
    }

    private static DateTimeOffset Later(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;
}
