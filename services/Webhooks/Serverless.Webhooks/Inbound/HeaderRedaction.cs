namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Headers as they may be stored in a delivery receipt: all kept (they help debugging), but values that
/// carry a secret or a signature replaced by "[redacted]". Signatures are redacted too: a stored valid
/// signature plus body is a replayable request for as long as the timestamp tolerance allows.
/// </summary>
public static class HeaderRedaction
{
    public const string Redacted = "[redacted]";

    private static readonly HashSet<string> AlwaysRedacted = new(StringComparer.OrdinalIgnoreCase)
    {
        "Authorization",
        "Proxy-Authorization",
        "Cookie",
        "X-Gitlab-Token",
        "webhook-signature",
    };

    /// <param name="source">When given, its generic signature header is redacted as well.</param>
    public static IReadOnlyDictionary<string, string> Redact(IReadOnlyDictionary<string, string> headers, WebhookSource? source = null)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var configured = source?.Options.Header;
        var kept = new Dictionary<string, string>(headers.Count, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers)
        {
            var secret = AlwaysRedacted.Contains(name)
                || name.StartsWith("X-Hub-Signature", StringComparison.OrdinalIgnoreCase)
                || (configured is not null && name.Equals(configured, StringComparison.OrdinalIgnoreCase));
            kept[name] = secret ? Redacted : value;
        }

        return kept;
    }
}
