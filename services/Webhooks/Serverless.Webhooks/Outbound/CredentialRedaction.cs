namespace Serverless.Webhooks.Outbound;

/// <summary>
/// What an endpoint's readers see of the credentials it was configured with: like its signing secret, a header such as
/// <c>Authorization: Bearer …</c> or a token in the URL's query (<c>?api_key=…</c>) is written, never shown again.
/// Values of headers and query parameters whose names say they hold a credential, and a password in the URL, read
/// <see cref="Redacted"/>; everything else is shown as configured.
/// </summary>
public static class CredentialRedaction
{
    public const string Redacted = "[redacted]";

    private static readonly string[] SensitiveParts = ["auth", "token", "secret", "key", "password", "passwd", "signature", "sig", "cookie", "session", "credential"];

    public static bool IsSensitive(string name) =>
        SensitiveParts.Any(part => name.Contains(part, StringComparison.OrdinalIgnoreCase));

    public static IReadOnlyDictionary<string, string> Headers(IReadOnlyDictionary<string, string> headers)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return headers.ToDictionary(h => h.Key, h => IsSensitive(h.Key) ? Redacted : h.Value, StringComparer.OrdinalIgnoreCase);
    }

    public static string Url(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return url;
        }

        // On the text as configured (Uri would re-escape it): the password of user:password@, then the query's values.
        var text = url;
        if (uri.UserInfo.IndexOf(':', StringComparison.Ordinal) is var colon and >= 0)
        {
            var at = text.IndexOf(uri.UserInfo + "@", StringComparison.Ordinal);
            if (at >= 0)
            {
                text = string.Concat(text.AsSpan(0, at + colon + 1), Redacted, text.AsSpan(at + uri.UserInfo.Length));
            }
        }

        var queryAt = text.IndexOf('?', StringComparison.Ordinal);
        if (queryAt < 0)
        {
            return text;
        }

        var fragmentAt = text.IndexOf('#', queryAt);
        var query = fragmentAt < 0 ? text[(queryAt + 1)..] : text[(queryAt + 1)..fragmentAt];
        var redacted = string.Join('&', query.Split('&').Select(pair =>
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            return equals > 0 && IsSensitive(Uri.UnescapeDataString(pair[..equals])) ? pair[..(equals + 1)] + Redacted : pair;
        }));
        return text[..(queryAt + 1)] + redacted + (fragmentAt < 0 ? string.Empty : text[fragmentAt..]);
    }
}
