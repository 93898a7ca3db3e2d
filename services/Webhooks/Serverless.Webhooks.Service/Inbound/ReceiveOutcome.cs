namespace Serverless.Webhooks.Service.Inbound;

/// <summary>What happened to one inbound delivery; the HTTP layer maps each case to a status.</summary>
public abstract record ReceiveOutcome
{
    /// <summary>Stored (202), or a duplicate of a stored one (200).</summary>
    public sealed record Accepted(string ReceiptId, bool Duplicate) : ReceiveOutcome;

    public sealed record UnknownSource : ReceiveOutcome;

    /// <summary>Verification failed; the message is safe to return (names headers, never secrets).</summary>
    public sealed record Unauthorized(string Message) : ReceiveOutcome;

    public sealed record RateLimited(TimeSpan RetryAfter) : ReceiveOutcome;

    /// <summary>Verified, but a known event's payload is not what that event must look like.</summary>
    public sealed record Malformed(string Message) : ReceiveOutcome;
}
