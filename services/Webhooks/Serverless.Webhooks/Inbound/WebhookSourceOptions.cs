namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Kind-specific settings of a source. Values stay strings (not enums) because they come from
/// configuration files: validation can then name the exact field a typo is in instead of failing to bind.
/// </summary>
public sealed record WebhookSourceOptions
{
    /// <summary>Default clock skew accepted for signed timestamps (Standard Webhooks recommends 5 minutes).</summary>
    public static readonly TimeSpan DefaultTolerance = TimeSpan.FromMinutes(5);

    /// <summary>generic: "hmac" (default) or "bearer".</summary>
    public string? Mode { get; init; }

    /// <summary>generic/hmac: the header carrying the signature (required).</summary>
    public string? Header { get; init; }

    /// <summary>generic/hmac: "sha256" (default) or "sha512".</summary>
    public string? Algorithm { get; init; }

    /// <summary>generic/hmac: "hex" (default) or "base64".</summary>
    public string? Encoding { get; init; }

    /// <summary>generic/hmac: text before the digest in the header, e.g. "sha256=".</summary>
    public string? Prefix { get; init; }

    /// <summary>generic/hmac: header with a unix-seconds timestamp; when set the signed content is "{timestamp}.{body}".</summary>
    public string? TimestampHeader { get; init; }

    /// <summary>standard, generic with timestamp: accepted distance between the signed timestamp and now, both directions.</summary>
    public TimeSpan? Tolerance { get; init; }

    /// <summary>generic: header carrying the sender's delivery id; without it the id is derived from the body.</summary>
    public string? IdHeader { get; init; }

    /// <summary>generic: header carrying the event type.</summary>
    public string? EventHeader { get; init; }

    /// <summary>Any kind: verified deliveries accepted per second from this source, shared by every instance (a bucket of ⌈rate⌉ refilled at the rate, see <see cref="Outbound.SmoothRateLimit.WithBurst"/>); more get 429 with Retry-After.</summary>
    public double? RateLimitPerSecond { get; init; }
}
