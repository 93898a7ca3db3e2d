using Serverless.BuildingBlocks.Http;
using System.Net;

namespace Serverless.Webhooks.Outbound;

/// <summary>The guard's verdict on one (host, address) pair.</summary>
public sealed record DestinationVerdict(bool Permitted, AddressKind Kind);

/// <summary>
/// The SSRF rule: a destination is permitted when its address is public, or the allow-list names its host or
/// covers its address. Cloud metadata host names are refused by name unless allow-listed by name.
/// </summary>
public sealed class OutboundDestinationPolicy(OutboundAllowList allowList)
{
    public static OutboundDestinationPolicy Default { get; } = new(OutboundAllowList.None);

    public OutboundAllowList AllowList { get; } = allowList ?? throw new ArgumentNullException(nameof(allowList));

    public DestinationVerdict Check(string host, IPAddress address)
    {
        var kind = AddressClassifier.Classify(address);
        var permitted = kind == AddressKind.Public || AllowList.PermitsHost(host) || AllowList.Permits(address);
        return new DestinationVerdict(permitted, kind);
    }

    /// <summary>Why the host name alone is refused, or null when it may be resolved and checked by address.</summary>
    public string? RefuseHostName(string host) =>
        HostNames.IsCloudMetadata(host) && !AllowList.PermitsHost(host)
            ? "it is a cloud metadata service name"
            : null;

    /// <summary>Whether <paramref name="host"/> is an IP literal (brackets allowed), so it needs no resolving.</summary>
    internal static bool TryParseLiteral(string host, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out IPAddress? address)
    {
        var h = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        return IPAddress.TryParse(h, out address);
    }
}

/// <summary>
/// Thrown when the SSRF guard refuses a destination. The message names the host and the kinds of address found,
/// never the URL: paths and query strings often carry tokens.
/// </summary>
public sealed class OutboundDestinationRefusedException : Exception
{
    public OutboundDestinationRefusedException(string host, string reason)
        : base($"Outbound request to '{host}' refused: {reason}.")
    {
        Host = host;
        Reason = reason;
    }

    public OutboundDestinationRefusedException()
        : this("(unknown)", "refused")
    {
    }

    public OutboundDestinationRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
        Host = "(unknown)";
        Reason = message;
    }

    public string Host { get; }

    public string Reason { get; }
}
