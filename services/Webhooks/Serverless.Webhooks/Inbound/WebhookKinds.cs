namespace Serverless.Webhooks.Inbound;

/// <summary>Maps the configuration spelling of a kind ("github", "standard", ...) to <see cref="WebhookKind"/>.</summary>
public static class WebhookKinds
{
    private static readonly Dictionary<string, WebhookKind> ByName = new(StringComparer.OrdinalIgnoreCase)
    {
        ["github"] = WebhookKind.GitHub,
        ["gitlab"] = WebhookKind.GitLab,
        ["standard"] = WebhookKind.Standard,
        ["alertmanager"] = WebhookKind.Alertmanager,
        ["generic"] = WebhookKind.Generic,
    };

    /// <summary>The names accepted in configuration, for error messages.</summary>
    public static IReadOnlyCollection<string> Names => ByName.Keys;

    public static bool TryParse(string? name, out WebhookKind kind)
    {
        kind = default;
        return name is not null && ByName.TryGetValue(name.Trim(), out kind);
    }
}
