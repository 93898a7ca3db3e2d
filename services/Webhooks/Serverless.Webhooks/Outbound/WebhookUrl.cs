using System.Net;
using System.Net.Sockets;

namespace Serverless.Webhooks.Outbound;

/// <summary>The result of checking an endpoint URL at registration.</summary>
public sealed record DestinationCheck(bool Permitted, string? Problem)
{
    internal static DestinationCheck Ok { get; } = new(true, null);

    internal static DestinationCheck Refused(string problem) => new(false, problem);
}

/// <summary>Shape rules for an endpoint URL (pure), and the registration-time check that also resolves its host.</summary>
public static class WebhookUrl
{
    public const int MaxLength = 2048;

    /// <summary>
    /// What of an endpoint URL may be shown to others (the <c>webhook.endpoint.disabled</c> event goes to every endpoint
    /// subscribed to it): its origin, <c>scheme://host[:port]</c>. Path, query and user info are dropped — they often
    /// carry the receiver's token (<c>?api_key=…</c>, or a path like Slack's <c>/services/T…/B…/secret</c>).
    /// </summary>
    public static string Origin(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        return new Uri(url, UriKind.Absolute).GetComponents(UriComponents.SchemeAndServer, UriFormat.UriEscaped);
    }

    /// <summary>Null when the URL has an acceptable shape; otherwise what is wrong. Does not resolve anything.</summary>
    public static string? ValidateShape(string? url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return "is required";
        }

        if (url.Length > MaxLength)
        {
            return $"must be at most {MaxLength} characters";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return "must be an absolute URL";
        }

        if (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp)
        {
            return "must use http or https";
        }

        // Credentials in the URL would end up in logs and in every redirect-free retry; headers are the place for them.
        if (uri.UserInfo.Length > 0)
        {
            return "must not contain a user name or password";
        }

        if (uri.Host.Length == 0)
        {
            return "must have a host";
        }

        return uri.Fragment.Length > 0 ? "must not contain a fragment" : null;
    }

    /// <summary>
    /// Registration check: the shape, then every address the host resolves to. Refused if ANY address is forbidden,
    /// because the sender could later be handed that one (round-robin DNS).
    /// </summary>
    public static async Task<DestinationCheck> CheckAsync(
        string url,
        OutboundDestinationPolicy policy,
        Func<string, CancellationToken, Task<IPAddress[]>> resolve,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentNullException.ThrowIfNull(resolve);
        if (ValidateShape(url) is { } shape)
        {
            return DestinationCheck.Refused(shape);
        }

        var host = new Uri(url).Host;
        if (policy.RefuseHostName(host) is { } nameProblem)
        {
            return DestinationCheck.Refused($"host '{host}' is refused: {nameProblem}");
        }

        IPAddress[] addresses;
        if (OutboundDestinationPolicy.TryParseLiteral(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolve(HostNames.Normalise(host), cancellationToken).ConfigureAwait(false);
            }
            catch (SocketException)
            {
                return DestinationCheck.Refused($"host '{host}' does not resolve");
            }
        }

        if (addresses.Length == 0)
        {
            return DestinationCheck.Refused($"host '{host}' does not resolve");
        }

        var forbidden = addresses
            .Select(a => (Address: a, Verdict: policy.Check(host, a)))
            .Where(x => !x.Verdict.Permitted)
            .Select(x => $"{x.Address} ({x.Verdict.Kind})")
            .ToList();
        return forbidden.Count == 0
            ? DestinationCheck.Ok
            : DestinationCheck.Refused($"host '{host}' resolves to forbidden addresses: {string.Join(", ", forbidden)}");
    }
}
