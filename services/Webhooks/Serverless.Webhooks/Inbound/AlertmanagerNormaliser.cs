using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>Alertmanager webhook payload (version "4") → <see cref="AlertsReceived"/>.</summary>
public static class AlertmanagerNormaliser
{
    public const string SupportedVersion = "4";

    /// <returns>null when the payload is not version 4 (its shape is not known).</returns>
    public static AlertsReceived? Normalise(JsonElement root)
    {
        if (PayloadReader.Optional(root, "version") != SupportedVersion)
        {
            return null;
        }

        var alerts = PayloadReader.Array(root, "alerts").Select(alert => new Alert(
            PayloadReader.Required(alert, "status"),
            PayloadReader.Map(alert, "labels"),
            PayloadReader.Map(alert, "annotations"),
            PayloadReader.Timestamp(alert, "startsAt") ?? throw new JsonException("required timestamp 'startsAt' is missing"),
            PayloadReader.Timestamp(alert, "endsAt") is { } ends && ends.Year > 1 ? ends : null,
            PayloadReader.Optional(alert, "generatorURL"),
            PayloadReader.Optional(alert, "fingerprint"))).ToList();

        return new AlertsReceived(
            PayloadReader.Required(root, "receiver"),
            PayloadReader.Required(root, "status"),
            PayloadReader.Map(root, "groupLabels"),
            PayloadReader.Map(root, "commonLabels"),
            PayloadReader.Map(root, "commonAnnotations"),
            PayloadReader.Optional(root, "externalURL"),
            PayloadReader.Optional(root, "groupKey"),
            alerts);
    }
}
