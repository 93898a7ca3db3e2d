namespace Serverless.Webhooks.Inbound;

/// <summary>
/// One configured inbound webhook source. Several secrets may be listed so a sender's secret can be
/// rotated without downtime: a delivery is accepted when it verifies against any of them.
/// </summary>
/// <param name="Name">URL-safe identifier of the source.</param>
/// <param name="Kind">"github", "gitlab", "standard", "alertmanager" or "generic".</param>
/// <param name="Secrets">
/// HMAC keys or tokens. standard: "whsec_" + base64 key. alertmanager: a bearer token, or "user:password"
/// for basic authentication.
/// </param>
/// <param name="Options">Kind-specific settings; only generic requires any.</param>
public sealed record WebhookSource(string Name, string Kind, IReadOnlyList<string> Secrets, WebhookSourceOptions? Options = null)
{
    public WebhookSourceOptions Options { get; init; } = Options ?? new WebhookSourceOptions();

    // Records print every property by default; secrets must never reach logs through ToString.
    public override string ToString() =>
        $"WebhookSource {{ Name = {Name}, Kind = {Kind}, Secrets = [{Secrets?.Count ?? 0} redacted], Options = {Options} }}";
}
