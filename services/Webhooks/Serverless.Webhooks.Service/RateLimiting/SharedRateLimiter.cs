using System.Buffers.Text;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Service.RateLimiting;

/// <summary>
/// A smooth rate limit shared by every instance on one state store (<see cref="SmoothRateLimit"/>, GCRA): each scope (an
/// outbound endpoint, an inbound source) keeps one value, its theoretical arrival time in Unix ticks,
/// <c>webhooks||rate||{scope}||tat</c>, created create-only and moved ETag-checked, expiring a few seconds after it stops
/// constraining anything. A send costs one read and, when allowed, one write; a refused one only the read; only scopes with
/// a limit ask. Outbound endpoints use the even spacing of <see cref="SmoothRateLimit.For"/>, inbound sources the bucket of
/// <see cref="SmoothRateLimit.WithBurst"/>. Decisions follow each deciding instance's clock, so instances must keep time (NTP): a skew of δ between two
/// instances lets their sends come up to δ closer together than <see cref="SmoothRateLimit"/> promises (at most ⌈rate⌉ in any
/// 1 s − δ rather than 1 s), and a clock ahead holds the others back by up to δ (at most one interval, see
/// <see cref="SmoothRateLimit"/>). The per-window counters of the fixed-window limiter before it
/// (<c>webhooks||rate||{scope}||{n}s{window}</c>) are no longer read and expire on their own.
/// </summary>
public sealed class SharedRateLimiter(IStateStore state, TimeProvider time)
{
    public const string KeyPrefix = "webhooks||rate||";

    /// <summary>How long a stored theoretical arrival time outlives the moment it stops constraining anything.</summary>
    public static readonly TimeSpan ExpiryGrace = TimeSpan.FromSeconds(5);

    /// <summary>Lost races in a row before giving up (the send is then deferred to the place after the one it lost).</summary>
    private const int MaxRaces = 16;

    /// <summary>The state key of a scope's theoretical arrival time.</summary>
    public static string Key(string scope) => KeyPrefix + scope + StateKeys.Separator + "tat";

    /// <summary>
    /// Takes the scope's next place at <paramref name="ratePerSecond"/> (<see cref="SmoothRateLimit.For"/>, evenly spaced;
    /// with <paramref name="burst"/> <see cref="SmoothRateLimit.WithBurst"/>, up to ⌈rate⌉ at once), or says exactly when it comes.
    /// </summary>
    public async Task<RateLimitDecision> TryAcquireAsync(string scope, double ratePerSecond, bool burst = false, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        var limit = burst ? SmoothRateLimit.WithBurst(ratePerSecond) : SmoothRateLimit.For(ratePerSecond);
        var key = Key(scope);
        for (var race = 0; ; race++)
        {
            var now = time.GetUtcNow();
            var current = await state.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var step = limit.Decide(current is null ? null : Parse(current.Value.Span), now);
            if (!step.Decision.Allowed)
            {
                return step.Decision;
            }

            if (race >= MaxRaces)
            {
                return new RateLimitDecision(false, limit.EarliestAfter(step.TheoreticalArrival));
            }

            var options = current is null
                ? new StateWriteOptions(Ttl: step.Lifetime + ExpiryGrace, OnlyIfAbsent: true)
                : new StateWriteOptions(ETag: current.ETag, Ttl: step.Lifetime + ExpiryGrace);
            try
            {
                await state.SaveAsync(key, Format(step.TheoreticalArrival), options, cancellationToken).ConfigureAwait(false);
                return step.Decision;
            }
            catch (ETagMismatchException)
            {
                // Another send (here or on another instance) moved it first: read again.
            }
        }
    }

    /// <summary>An unreadable value constrains nothing: the next allowed send overwrites it (ETag-checked).</summary>
    private static long? Parse(ReadOnlySpan<byte> value) => Utf8Parser.TryParse(value, out long ticks, out var consumed) && consumed == value.Length ? ticks : null;

    private static byte[] Format(long ticks)
    {
        var buffer = new byte[20];
        _ = Utf8Formatter.TryFormat(ticks, buffer, out var written);
        return buffer[..written];
    }
}
