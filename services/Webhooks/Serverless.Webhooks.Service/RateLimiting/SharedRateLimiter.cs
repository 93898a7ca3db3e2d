using System.Buffers.Text;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;

namespace Serverless.Webhooks.Service.RateLimiting;

/// <summary>
/// A rate limit shared by every instance on one state store: each scope (an outbound endpoint, an inbound
/// source) has a counter per window (<see cref="RateWindow"/>, one second for rates of 1/s or more), <c>webhooks||rate||{scope}||{window}</c>,
/// created create-only and incremented ETag-checked, expiring a few seconds after its window. A send costs one read
/// and one write; only scopes with a limit ask. Windows follow each instance's clock, so instances must keep time
/// (NTP); a skew of a fraction of a second only shifts where the windows fall.
/// </summary>
public sealed class SharedRateLimiter(IStateStore state, TimeProvider time)
{
    public const string KeyPrefix = "webhooks||rate||";

    /// <summary>How long a window's counter outlives the window.</summary>
    public static readonly TimeSpan CounterGrace = TimeSpan.FromSeconds(5);

    /// <summary>Lost races in a row before giving up on the window (the send is then deferred to the next one).</summary>
    private const int MaxRaces = 16;

    /// <summary>Takes one of the current window's slots (<see cref="RateWindow"/>), or says when the next window starts.</summary>
    public async Task<RateLimitDecision> TryAcquireAsync(string scope, double ratePerSecond, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(scope);
        for (var race = 0; ; race++)
        {
            var now = time.GetUtcNow();
            var window = RateWindow.At(now, ratePerSecond);
            var key = KeyPrefix + scope + StateKeys.Separator + window.Key;
            var current = await state.GetAsync(key, cancellationToken).ConfigureAwait(false);
            var counted = current is null ? 0 : Parse(current.Value.Span);
            var decision = window.Decide(counted, now);
            if (!decision.Allowed)
            {
                return decision;
            }

            if (race >= MaxRaces)
            {
                return new RateLimitDecision(false, window.NextStart);
            }

            var lifetime = window.NextStart - now + CounterGrace;
            var options = current is null
                ? new StateWriteOptions(Ttl: lifetime, OnlyIfAbsent: true)
                : new StateWriteOptions(ETag: current.ETag, Ttl: lifetime);
            try
            {
                await state.SaveAsync(key, Format(counted + 1), options, cancellationToken).ConfigureAwait(false);
                return decision;
            }
            catch (ETagMismatchException)
            {
                // Another send (here or on another instance) counted first: read again.
            }
        }
    }

    private static int Parse(ReadOnlySpan<byte> value) => Utf8Parser.TryParse(value, out int counted, out _) ? counted : int.MaxValue;

    private static byte[] Format(int counted)
    {
        var buffer = new byte[11];
        _ = Utf8Formatter.TryFormat(counted, buffer, out var written);
        return buffer[..written];
    }
}
