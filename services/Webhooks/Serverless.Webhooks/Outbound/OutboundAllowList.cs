using System.Net;

namespace Serverless.Webhooks.Outbound;

/// <summary>
/// Destinations an operator explicitly lets webhooks reach although the SSRF guard would refuse them:
/// CIDR ranges or single addresses (<c>10.1.0.0/16</c>, <c>127.0.0.1</c>) and exact host names (<c>hooks.internal</c>).
/// A permitted host name permits whatever it resolves to; that is the point of listing it.
/// </summary>
public sealed class OutboundAllowList
{
    private readonly List<IPNetwork> _networks = [];
    private readonly HashSet<string> _hosts = new(StringComparer.OrdinalIgnoreCase);

    public static OutboundAllowList None { get; } = new([]);

    public OutboundAllowList(IEnumerable<string> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var raw in entries)
        {
            var entry = raw?.Trim() ?? string.Empty;
            if (entry.Length == 0)
            {
                throw new ArgumentException("An allow-list entry must not be empty.", nameof(entries));
            }

            if (IPNetwork.TryParse(entry, out var network))
            {
                _networks.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                _networks.Add(new IPNetwork(Normalise(address), address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !address.IsIPv4MappedToIPv6 ? 128 : 32));
            }
            else if (entry.Contains('/', StringComparison.Ordinal))
            {
                throw new ArgumentException($"'{entry}' is not a valid CIDR range.", nameof(entries));
            }
            else if (Uri.CheckHostName(entry) == UriHostNameType.Dns)
            {
                _hosts.Add(HostNames.Normalise(entry));
            }
            else
            {
                throw new ArgumentException($"'{entry}' is neither a CIDR range, an IP address nor a host name.", nameof(entries));
            }
        }
    }

    public bool Permits(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var normalised = Normalise(address);
        return _networks.Exists(n => n.Contains(normalised));
    }

    public bool PermitsHost(string host) => _hosts.Contains(HostNames.Normalise(host));

    // An IPv4-mapped IPv6 address reaches the IPv4 host, so it is matched against IPv4 ranges; zone ids are dropped.
    private static IPAddress Normalise(IPAddress address) =>
        address.IsIPv4MappedToIPv6 ? address.MapToIPv4()
        : address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0 ? new IPAddress(address.GetAddressBytes())
        : address;
}

internal static class HostNames
{
    /// <summary>Lower case, without brackets or the trailing root dot, so "Metadata.Google.Internal." is caught like the plain name.</summary>
    public static string Normalise(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var h = host.Trim();
        if (h.StartsWith('[') && h.EndsWith(']'))
        {
            h = h[1..^1];
        }

        return h.TrimEnd('.').ToLowerInvariant();
    }

    // Names that reach instance metadata without an IP literal; the addresses behind them are caught too, this is belt and braces.
    private static readonly HashSet<string> Metadata = new(StringComparer.Ordinal)
    {
        "metadata.google.internal",
        "metadata.goog",
        "metadata",
        "instance-data",
        "instance-data.ec2.internal",
        "metadata.azure.internal",
        "metadata.tencentyun.com",
        "metadata.platformequinix.com",
    };

    public static bool IsCloudMetadata(string host) => Metadata.Contains(Normalise(host));
}
