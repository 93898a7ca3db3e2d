using System.Text.Json;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Inbound;

namespace Serverless.Webhooks.Service.Inbound;

/// <summary>The payload of <c>webhook.received</c>: the delivery as it came, body as JSON when it is JSON.</summary>
public sealed record WebhookReceived(string Source, string Kind, string EventType, string DeliveryId, string ReceiptId, string? ContentType, JsonElement? Json, string? BodyBase64);

/// <summary>
/// Turns a verified delivery into its platform event: the normalised event when the delivery is a known one
/// (<c>scm.push</c>, <c>alerts.received</c>), otherwise the delivery raw as <c>webhook.received</c>. The raw
/// delivery of a normalised event stays in its receipt (the event's id starts with the receipt id).
/// </summary>
public static class InboundEvents
{
    public const string ReceivedTopic = "webhook.received";
    public const string ScmPushTopic = "scm.push";
    public const string AlertsReceivedTopic = "alerts.received";

    /// <exception cref="JsonException">A known event's payload is malformed.</exception>
    public static IReadOnlyList<(string Topic, CloudEvent Event)> For(
        string source, WebhookKind kind, string eventType, string deliveryId, string eventId, string? contentType, ReadOnlySpan<byte> body)
    {
        var origin = $"/webhooks/{source}";

        // A form with a payload field (GitHub's form content type): the document inside is the event; the receipt keeps the form as sent.
        if (FormPayload.JsonOf(contentType, body) is { } payload)
        {
            body = payload;
        }

        switch (WebhookNormaliser.Normalise(kind, eventType, body))
        {
            case ScmPush push:
                return [(ScmPushTopic, Event(origin, ScmPushTopic, push, eventId + "-push", push.Ref))];
            case AlertsReceived alerts:
                return [(AlertsReceivedTopic, Event(origin, AlertsReceivedTopic, alerts, eventId + "-alerts", alerts.Receiver))];
        }

        var json = TryJson(body);
        var received = new WebhookReceived(source, kind.ToString().ToLowerInvariant(), eventType, deliveryId, eventId, contentType, json, json is null ? Convert.ToBase64String(body) : null);
        return [(ReceivedTopic, Event(origin, ReceivedTopic, received, eventId, eventType))];
    }

    private static CloudEvent Event<T>(string source, string type, T data, string id, string? subject)
    {
        var cloudEvent = CloudEventJson.Create(source, type, data, subject);
        cloudEvent.Id = id;
        return cloudEvent;
    }

    private static JsonElement? TryJson(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            using var document = JsonDocument.ParseValue(ref reader);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
