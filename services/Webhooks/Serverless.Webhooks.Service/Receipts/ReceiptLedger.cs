using System.Security.Cryptography;
using System.Text;
using Azure.Messaging;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Inbound;

namespace Serverless.Webhooks.Service.Receipts;

/// <summary>
/// Stores inbound webhooks before they are acknowledged. One state transaction holds the receipt, its
/// per-source index entry, the deduplication marker (create-only, expiring after the window) and the events
/// to publish (outbox) — so a 202 means all of it is durable, a crash after it still publishes, and the same
/// delivery id inside the window finds the original receipt instead of publishing twice. A delivery id derived from the
/// body (<see cref="BodyDigest.IsDerived"/>) is remembered only for the short derived-id window (5 minutes by default),
/// so retries are dropped but a deliberate repeat with the same body gets through. Receipts expire after the
/// retention (30 days by default, never less than the window), so the store does not grow without bound.
/// </summary>
public sealed class ReceiptLedger(IStateStore state, TimeProvider time, TimeSpan? deduplicationWindow = null, TimeSpan? retention = null, TimeSpan? derivedIdWindow = null)
{
    /// <summary>How long a delivery id is remembered for deduplication by default.</summary>
    public static readonly TimeSpan DefaultDeduplicationWindow = TimeSpan.FromHours(72);

    /// <summary>How long a delivery id derived from the body is remembered by default.</summary>
    public static readonly TimeSpan DefaultDerivedIdWindow = TimeSpan.FromMinutes(5);

    /// <summary>How long a receipt (and its body) is kept for listing and replay by default.</summary>
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(30);

    private readonly TimeSpan _window = deduplicationWindow ?? DefaultDeduplicationWindow;

    /// <summary>Never longer than the main window.</summary>
    private readonly TimeSpan _derivedWindow = TimeSpan.FromTicks(Math.Min((derivedIdWindow ?? DefaultDerivedIdWindow).Ticks, (deduplicationWindow ?? DefaultDeduplicationWindow).Ticks));

    /// <summary>Never shorter than the window: a duplicate is answered with its original receipt, which must still be there.</summary>
    private readonly StateWriteOptions _keep = new(Ttl: TimeSpan.FromTicks(Math.Max((retention ?? DefaultRetention).Ticks, (deduplicationWindow ?? DefaultDeduplicationWindow).Ticks)));

    private const string ReceiptPrefix = "webhooks||receipt||";
    private const string BySourcePrefix = "webhooks||receipt-by-source||";
    private const string DeliveryPrefix = "webhooks||delivery||";

    /// <summary>Stores a receipt and queues its events, or returns the original receipt of a duplicate delivery.</summary>
    public async Task<ReceiptOutcome> AcceptAsync(
        string source,
        string deliveryId,
        string eventType,
        string? contentType,
        IReadOnlyDictionary<string, string> redactedHeaders,
        ReadOnlyMemory<byte> body,
        IReadOnlyList<(string Topic, CloudEvent Event)> events,
        string? receiptId = null,
        WebhookKind? kind = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var now = time.GetUtcNow();
        var receipt = new Receipt(receiptId ?? TimeOrderedId.Next(now), source, deliveryId, eventType, now, contentType, redactedHeaders, body.ToArray(), kind?.ToString().ToLowerInvariant());
        var transaction = new StateTransaction()
            .Upsert(DeliveryKey(source, deliveryId), Encoding.UTF8.GetBytes(receipt.Id), new StateWriteOptions(Ttl: BodyDigest.IsDerived(deliveryId) ? _derivedWindow : _window, OnlyIfAbsent: true))
            .UpsertJson(ReceiptPrefix + receipt.Id, receipt, _keep)
            .Upsert(BySourcePrefix + source + StateKeys.Separator + receipt.Id, ReadOnlyMemory<byte>.Empty, _keep);
        foreach (var (topic, cloudEvent) in events)
        {
            transaction.Publish(topic, cloudEvent);
        }

        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
                return new ReceiptOutcome(receipt.Id, Duplicate: false);
            }
            catch (ETagMismatchException) when (attempt < 3)
            {
                // The delivery id is taken: answer with the receipt that took it. (It can expire between the
                // failed write and this read; then the write is simply tried again.)
                var original = await state.GetAsync(DeliveryKey(source, deliveryId), cancellationToken).ConfigureAwait(false);
                if (original is not null)
                {
                    return new ReceiptOutcome(Encoding.UTF8.GetString(original.Value.Span), Duplicate: true);
                }
            }
        }
    }

    /// <summary>Queues events through the outbox (replays), durably before returning.</summary>
    public async Task PublishAsync(IReadOnlyList<(string Topic, CloudEvent Event)> events, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(events);
        var transaction = new StateTransaction();
        foreach (var (topic, cloudEvent) in events)
        {
            transaction.Publish(topic, cloudEvent);
        }

        await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
    }

    public async Task<Receipt?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        TimeOrderedId.IsWellFormed(id) ? (await state.GetJsonAsync<Receipt>(ReceiptPrefix + id, cancellationToken).ConfigureAwait(false))?.Value : null;

    /// <summary>Receipts oldest first, optionally of one source.</summary>
    public async Task<ReceiptPage> ListAsync(string? source, int limit, string? cursor, CancellationToken cancellationToken = default)
    {
        var prefix = source is null ? ReceiptPrefix : BySourcePrefix + source + StateKeys.Separator;
        var page = await state.GetJsonPageAsync<Receipt>(prefix, limit, cursor, k => ReceiptPrefix + k[prefix.Length..], cancellationToken).ConfigureAwait(false);
        return new ReceiptPage(page.Items, page.NextCursor);
    }

    /// <summary>
    /// Delivery ids are the sender's text: hashed into the key, so any length or character is safe and
    /// the key stays within the store's limit.
    /// </summary>
    private static string DeliveryKey(string source, string deliveryId) =>
        DeliveryPrefix + source + StateKeys.Separator + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(deliveryId)));
}
