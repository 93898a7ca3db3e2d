using System.Text.Json;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Service.RateLimiting;
using Serverless.Webhooks.Service.Receipts;
using Serverless.Webhooks.Service.Sources;

namespace Serverless.Webhooks.Service.Inbound;

/// <summary>
/// The inbound gateway without HTTP: find the source, verify the raw bytes, rate-limit, normalise known events,
/// and store receipt + events in one transaction before anything is acknowledged.
/// </summary>
public sealed class WebhookReceiver(WebhookSourceStore sources, ReceiptLedger receipts, SharedRateLimiter rateLimiter, TimeProvider time)
{
    public async Task<ReceiveOutcome> ReceiveAsync(
        string sourceName, IReadOnlyDictionary<string, string> headers, string? contentType, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var source = await sources.FindAsync(sourceName, cancellationToken).ConfigureAwait(false);
        if (source is null)
        {
            return new ReceiveOutcome.UnknownSource();
        }

        // Verified first: the rate limit counts the source's own deliveries, so forged requests to a public URL (401) can
        // never use up its allowance and starve the real ones.
        var now = time.GetUtcNow();
        var verified = source.Verifier.Verify(headers, body.Span, now);
        if (!verified.IsVerified)
        {
            return new ReceiveOutcome.Unauthorized(verified.Message ?? "verification failed");
        }

        // Shared by every instance behind the load balancer (one state read and write per request, only for sources with
        // a limit). A burst of up to the rate passes: senders fire several deliveries at once and GitHub never retries a 429.
        if (source.Definition.Options.RateLimitPerSecond is { } rate
            && await rateLimiter.TryAcquireAsync(RateScope(source.Definition.Name), rate, burst: true, cancellationToken).ConfigureAwait(false) is { Allowed: false } limited)
        {
            return new ReceiveOutcome.RateLimited(limited.NextSendAt - now);
        }

        var eventType = verified.EventType ?? "unknown";
        var receiptId = TimeOrderedId.Next(now);
        IReadOnlyList<(string, CloudEvent)> events;
        try
        {
            events = InboundEvents.For(source.Definition.Name, source.Kind, eventType, verified.DeliveryId!, receiptId, contentType, body.Span);
        }
        catch (JsonException ex)
        {
            return new ReceiveOutcome.Malformed($"The '{eventType}' payload is not valid: {ex.Message}");
        }

        var outcome = await receipts.AcceptAsync(
            source.Definition.Name, verified.DeliveryId!, eventType, contentType, HeaderRedaction.Redact(headers, source.Definition), body, events, receiptId, source.Kind, cancellationToken).ConfigureAwait(false);
        return new ReceiveOutcome.Accepted(outcome.ReceiptId, outcome.Duplicate);
    }

    /// <summary>The shared rate-limit counter of a source's verified deliveries.</summary>
    public static string RateScope(string sourceName) => "in" + StateKeys.Separator + sourceName;

    /// <summary>Publishes a stored receipt's events again, with new event ids so idempotent consumers process them.</summary>
    public async Task<bool> ReplayAsync(string receiptId, CancellationToken cancellationToken = default)
    {
        var receipt = await receipts.GetAsync(receiptId, cancellationToken).ConfigureAwait(false);
        if (receipt is null)
        {
            return false;
        }

        // The kind it arrived as (receipts stored before the kind was kept: the source's kind now, if it still exists).
        var kind = WebhookKinds.TryParse(receipt.Kind, out var arrivedAs)
            ? arrivedAs
            : (await sources.FindAsync(receipt.Source, cancellationToken).ConfigureAwait(false))?.Kind ?? WebhookKind.Generic;
        var events = InboundEvents.For(receipt.Source, kind, receipt.EventType, receipt.DeliveryId, TimeOrderedId.Next(time.GetUtcNow()), receipt.ContentType, receipt.Body);
        await receipts.PublishAsync(events, cancellationToken).ConfigureAwait(false);
        return true;
    }
}
