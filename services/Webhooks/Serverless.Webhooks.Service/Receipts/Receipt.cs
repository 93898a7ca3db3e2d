namespace Serverless.Webhooks.Service.Receipts;

/// <summary>
/// One inbound webhook as it arrived, kept so it can be inspected and replayed: the raw body, the headers
/// (secret-bearing ones already redacted) and what verification established.
/// </summary>
/// <param name="Id">Time-ordered, so listing by id lists oldest first.</param>
/// <param name="DeliveryId">The sender's delivery id (GitHub X-GitHub-Delivery, webhook-id, ...), the deduplication key.</param>
/// <param name="Kind">The source's kind when it arrived ("github", "gitlab", ...), so a replay normalises it the same way after the source changed or went (null in receipts stored before it was kept).</param>
public sealed record Receipt(
    string Id,
    string Source,
    string DeliveryId,
    string EventType,
    DateTimeOffset ReceivedAt,
    string? ContentType,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    string? Kind = null);
