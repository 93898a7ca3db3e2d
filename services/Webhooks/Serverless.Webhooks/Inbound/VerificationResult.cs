namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Outcome of verifying one delivery. On success carries the sender's delivery id (for idempotency) and
/// event type; on failure a reason and a message that is safe to log or return to the sender: it names
/// headers and formats, never secrets or the expected signature.
/// </summary>
public sealed record VerificationResult
{
    private VerificationResult(string? deliveryId, string? eventType, VerificationFailure? failure, string? message)
    {
        DeliveryId = deliveryId;
        EventType = eventType;
        Failure = failure;
        Message = message;
    }

    public bool IsVerified => Failure is null;

    /// <summary>The sender's id, or "sha256:{hex of body digest}" when the sender sends none.</summary>
    public string? DeliveryId { get; }

    /// <summary>The sender's event type; null when the source has no way to tell.</summary>
    public string? EventType { get; }

    public VerificationFailure? Failure { get; }

    public string? Message { get; }

    public static VerificationResult Verified(string deliveryId, string? eventType) => new(deliveryId, eventType, null, null);

    public static VerificationResult Rejected(VerificationFailure failure, string message) => new(null, null, failure, message);
}
