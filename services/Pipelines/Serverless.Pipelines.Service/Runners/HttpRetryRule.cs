using System.Net.Http.Headers;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Which failed tries <see cref="GuardedHttp"/> tries again, and after how long. A pure function of the request's
/// method and the try's outcome (its status, or the exception it ended with):
/// <list type="bullet">
/// <item>Idempotent methods (GET, HEAD, OPTIONS, TRACE, PUT, DELETE: sending one twice has the effect of sending it
/// once): any network error, 408, 429 and every 5xx.</item>
/// <item>Any other method (POST, PATCH, or one this list does not know) only when the request was certainly not
/// processed: no connection could be made (<see cref="HttpRequestError.NameResolutionError"/>,
/// <see cref="HttpRequestError.ConnectionError"/>, <see cref="HttpRequestError.SecureConnectionError"/>: the DNS
/// lookup, the TCP connect or the TLS handshake failed, all before a byte of the request was written), or the server
/// declined it (429, 503). A 500 or a connection dropped after the request went out may have run the action (a
/// deployment started), so it is not sent again.</item>
/// <item>Never a destination steps may not reach (<see cref="ForbiddenDestinationException"/>), nor a timeout or a
/// cancel.</item>
/// </list>
/// </summary>
public static class HttpRetryRule
{
    private static readonly HashSet<string> Idempotent = new(StringComparer.OrdinalIgnoreCase) { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };

    public static bool IsIdempotent(HttpMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        return Idempotent.Contains(method.Method);
    }

    /// <summary>Whether a try of <paramref name="method"/> that answered <paramref name="status"/> (null: no answer) or failed with <paramref name="error"/> is tried again.</summary>
    public static bool ShouldRetry(HttpMethod method, int? status, Exception? error)
    {
        var idempotent = IsIdempotent(method);
        if (error is not null)
        {
            return error switch
            {
                HttpRequestException { InnerException: ForbiddenDestinationException } => false,
                HttpRequestException when idempotent => true,
                HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError } => true,
                _ => false,
            };
        }

        return status switch
        {
            null => false,
            429 or 503 => true,
            408 or >= 500 => idempotent,
            _ => false,
        };
    }

    /// <summary>
    /// How long to wait before the next try when the server said (<c>Retry-After</c> on a 429 or 503) and that is at
    /// most <paramref name="maxDelay"/>; null otherwise, and the retry's own backoff applies.
    /// </summary>
    public static TimeSpan? Delay(int? status, TimeSpan? retryAfter, TimeSpan maxDelay) =>
        status is 429 or 503 && retryAfter is { } wait && wait <= maxDelay ? wait : null;

    /// <summary>What a <c>Retry-After</c> header asks for, as a wait from <paramref name="now"/> (a date in the past: none).</summary>
    public static TimeSpan? RetryAfter(RetryConditionHeaderValue? header, DateTimeOffset now) => header switch
    {
        { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
        { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
        _ => null,
    };
}
