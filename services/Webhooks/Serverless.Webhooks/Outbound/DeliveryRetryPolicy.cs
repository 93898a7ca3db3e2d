using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Serverless.Webhooks.Outbound;

/// <summary>What happened when one delivery attempt was made.</summary>
public abstract record DeliveryAttemptOutcome
{
    private DeliveryAttemptOutcome()
    {
    }

    /// <summary>The endpoint answered. <paramref name="RetryAfter"/> is the raw <c>Retry-After</c> header, if any.</summary>
    public sealed record Response(int StatusCode, string? RetryAfter = null) : DeliveryAttemptOutcome;

    /// <summary>No response within the request timeout.</summary>
    public sealed record TimedOut : DeliveryAttemptOutcome;

    /// <summary>DNS, TCP, TLS or protocol failure, or a destination the SSRF guard refused at connect time.</summary>
    public sealed record ConnectionFailed(string Reason) : DeliveryAttemptOutcome;

    /// <summary>The attempt could not be made or finished for any other reason (an unexpected error); it counts as a failed attempt.</summary>
    public sealed record Faulted(string Reason) : DeliveryAttemptOutcome;
}

/// <summary>What the delivery worker does after an attempt.</summary>
public abstract record NextStep
{
    private NextStep()
    {
    }

    public sealed record Delivered : NextStep;

    /// <summary>Try again at <paramref name="At"/>; <paramref name="Attempt"/> is the 1-based number of that attempt.</summary>
    public sealed record RetryAt(DateTimeOffset At, int Attempt) : NextStep;

    /// <summary>Every attempt failed: dead-letter the message.</summary>
    public sealed record Failed(string Reason) : NextStep;

    /// <summary>The endpoint told us it is gone: stop delivering to it at all.</summary>
    public sealed record DisableEndpoint(string Reason) : NextStep;
}

/// <summary>Delays before each attempt and how they are spread out.</summary>
public sealed record RetryScheduleOptions
{
    /// <summary>Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h: ten attempts over about three days.</summary>
    public static readonly IReadOnlyList<TimeSpan> DefaultDelays =
    [
        TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(30), TimeSpan.FromHours(2),
        TimeSpan.FromHours(5), TimeSpan.FromHours(10), TimeSpan.FromHours(14), TimeSpan.FromHours(20), TimeSpan.FromHours(24),
    ];

    /// <summary><c>Delays[n]</c> is the wait before attempt n+1; <c>Delays[0]</c> is the wait before the first attempt.</summary>
    public IReadOnlyList<TimeSpan> Delays { get; init; } = DefaultDelays;

    /// <summary>Each delay is scaled by a random factor in [1 - f, 1 + f), so failed endpoints are not retried in lock-step.</summary>
    public double JitterFraction { get; init; } = 0.1;

    /// <summary>The most a <c>Retry-After</c> header can push an attempt out; a receiver cannot park messages for ever.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromHours(24);
}

/// <summary>
/// The retry state machine: an attempt's outcome and number → <see cref="NextStep"/>.
/// 2xx is delivered; 410 disables the endpoint; everything else (3xx, since redirects are never followed, 4xx, 5xx,
/// timeouts, connection errors) is a failed attempt, retried by the schedule until the attempts run out.
/// For 429 and 503 a <c>Retry-After</c> is honoured as a lower bound: the attempt waits for the later of the
/// scheduled (jittered) time and the receiver's time, the latter capped at <see cref="RetryScheduleOptions.MaxRetryAfter"/>.
/// It never brings an attempt earlier, because the schedule also protects the receiver, and it still uses up an attempt.
/// </summary>
public sealed class DeliveryRetryPolicy
{
    private readonly RetryScheduleOptions _options;
    private readonly Random _random;

    /// <param name="random">Jitter source; pass a seeded one in tests. Defaults to the thread-safe <see cref="Random.Shared"/>.</param>
    public DeliveryRetryPolicy(RetryScheduleOptions? options = null, Random? random = null)
    {
        _options = options ?? new RetryScheduleOptions();
        if (_options.Delays.Count == 0)
        {
            throw new ArgumentException("A retry schedule needs at least one attempt.", nameof(options));
        }

        if (_options.Delays.Any(d => d < TimeSpan.Zero))
        {
            throw new ArgumentException("Retry delays cannot be negative.", nameof(options));
        }

        if (_options.JitterFraction is < 0 or >= 1 || double.IsNaN(_options.JitterFraction))
        {
            throw new ArgumentException("Jitter must be a fraction in [0, 1).", nameof(options));
        }

        _random = random ?? Random.Shared;
    }

    public int MaxAttempts => _options.Delays.Count;

    /// <summary>When the first attempt of a new message is due.</summary>
    public DateTimeOffset FirstAttemptAt(DateTimeOffset now) => now + Jitter(_options.Delays[0]);

    /// <param name="attempt">The 1-based number of the attempt that produced <paramref name="outcome"/>.</param>
    public NextStep Decide(int attempt, DeliveryAttemptOutcome outcome, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        ArgumentNullException.ThrowIfNull(outcome);

        string failure;
        TimeSpan? retryAfter = null;
        switch (outcome)
        {
            case DeliveryAttemptOutcome.Response { StatusCode: >= 200 and < 300 }:
                return new NextStep.Delivered();
            case DeliveryAttemptOutcome.Response { StatusCode: 410 }:
                return new NextStep.DisableEndpoint("The endpoint answered 410 Gone.");
            case DeliveryAttemptOutcome.Response { StatusCode: 429 or 503 } response:
                failure = $"HTTP {response.StatusCode.ToString(CultureInfo.InvariantCulture)}";
                retryAfter = RetryAfterHeader.TryParse(response.RetryAfter, now, out var wait) ? wait : null;
                break;
            case DeliveryAttemptOutcome.Response response:
                failure = $"HTTP {response.StatusCode.ToString(CultureInfo.InvariantCulture)}";
                break;
            case DeliveryAttemptOutcome.TimedOut:
                failure = "timed out";
                break;
            case DeliveryAttemptOutcome.ConnectionFailed connection:
                failure = connection.Reason;
                break;
            case DeliveryAttemptOutcome.Faulted faulted:
                failure = faulted.Reason;
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(outcome), outcome.GetType().Name, "Unknown attempt outcome.");
        }

        if (attempt >= MaxAttempts)
        {
            return new NextStep.Failed($"All {MaxAttempts.ToString(CultureInfo.InvariantCulture)} attempts failed; the last one: {failure}.");
        }

        var scheduled = now + Jitter(_options.Delays[attempt]);
        if (retryAfter is { } requested)
        {
            var honoured = now + (requested > _options.MaxRetryAfter ? _options.MaxRetryAfter : requested);
            if (honoured > scheduled)
            {
                scheduled = honoured;
            }
        }

        return new NextStep.RetryAt(scheduled, attempt + 1);
    }

    [SuppressMessage("Security", "CA5394:Do not use insecure randomness", Justification = "Jitter spreads load; it guards no secret.")]
    private TimeSpan Jitter(TimeSpan delay)
    {
        if (delay == TimeSpan.Zero || _options.JitterFraction == 0)
        {
            return delay;
        }

        var factor = 1 + (((_random.NextDouble() * 2) - 1) * _options.JitterFraction);
        return TimeSpan.FromTicks((long)(delay.Ticks * factor));
    }
}

/// <summary>Parses <c>Retry-After</c>: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).</summary>
public static class RetryAfterHeader
{
    /// <summary>The wait from <paramref name="now"/>; a date in the past is a wait of zero. False when absent or malformed.</summary>
    public static bool TryParse(string? value, DateTimeOffset now, out TimeSpan wait)
    {
        wait = TimeSpan.Zero;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        if (text.All(char.IsAsciiDigit))
        {
            // Very long digit strings are still "a long time": saturate instead of failing, the cap applies later.
            wait = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < TimeSpan.MaxValue.TotalSeconds / 2
                ? TimeSpan.FromSeconds(seconds)
                : TimeSpan.MaxValue;
            return true;
        }

        if (DateTimeOffset.TryParseExact(text, "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            wait = date > now ? date - now : TimeSpan.Zero;
            return true;
        }

        return false;
    }
}
