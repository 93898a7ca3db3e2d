namespace Serverless.Webhooks.Service.Receipts;

/// <param name="ReceiptId">The stored receipt: the new one, or the original one for a duplicate.</param>
/// <param name="Duplicate">True when the same delivery id arrived before within the deduplication window.</param>
public sealed record ReceiptOutcome(string ReceiptId, bool Duplicate);

/// <param name="NextCursor">Null on the last page.</param>
public sealed record ReceiptPage(IReadOnlyList<Receipt> Items, string? NextCursor);
