namespace Serverless.Webhooks.Inbound;

/// <summary>One Alertmanager notification: a group of alerts sent to a receiver.</summary>
/// <param name="Status">"firing" or "resolved" (firing when at least one alert of the group fires).</param>
/// <param name="ExternalUrl">Alertmanager's own URL, as sent.</param>
public sealed record AlertsReceived(
    string Receiver,
    string Status,
    IReadOnlyDictionary<string, string> GroupLabels,
    IReadOnlyDictionary<string, string> CommonLabels,
    IReadOnlyDictionary<string, string> CommonAnnotations,
    string? ExternalUrl,
    string? GroupKey,
    IReadOnlyList<Alert> Alerts) : NormalisedEvent;
