using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Picks the normaliser for a verified delivery by kind and event type. Events without a normaliser
/// (other GitHub/GitLab events, standard and generic payloads) give null: they are still delivered raw.
/// </summary>
public static class WebhookNormaliser
{
    /// <exception cref="JsonException">The event is a known one but its payload is not valid JSON or lacks a required field.</exception>
    public static NormalisedEvent? Normalise(WebhookKind kind, string? eventType, ReadOnlySpan<byte> body)
    {
        var known = kind switch
        {
            WebhookKind.GitHub => eventType == "push",
            WebhookKind.GitLab => eventType == "Push Hook",
            WebhookKind.Alertmanager => eventType == AlertmanagerVerifier.EventType,
            _ => false,
        };
        if (!known)
        {
            return null;
        }

        var reader = new Utf8JsonReader(body);
        using var document = JsonDocument.ParseValue(ref reader);
        var root = document.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException("payload is not a JSON object");
        }

        return kind switch
        {
            WebhookKind.GitHub => GitHubPushNormaliser.Normalise(root),
            WebhookKind.GitLab => GitLabPushNormaliser.Normalise(root),
            _ => AlertmanagerNormaliser.Normalise(root),
        };
    }
}
