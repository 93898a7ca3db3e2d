namespace Serverless.Webhooks.Inbound;

/// <summary>One alert of an Alertmanager notification.</summary>
/// <param name="EndsAt">Null while the alert fires (Alertmanager sends the zero time "0001-01-01T00:00:00Z").</param>
/// <param name="Fingerprint">Alertmanager's stable hash of the label set: identifies the alert across notifications.</param>
public sealed record Alert(
    string Status,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? EndsAt,
    string? GeneratorUrl,
    string? Fingerprint);
