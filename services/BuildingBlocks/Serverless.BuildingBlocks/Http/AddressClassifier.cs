using System.Net;
using System.Net.Sockets;

namespace Serverless.BuildingBlocks.Http;

/// <summary>What kind of destination an IP address is, for the SSRF guard. Everything but <see cref="Public"/> is refused by default.</summary>
public enum AddressKind
{
    Public,

    /// <summary>0.0.0.0/8 and ::; connecting to them reaches the local host on most stacks.</summary>
    Unspecified,

    Loopback,

    /// <summary>RFC 1918: 10/8, 172.16/12, 192.168/16.</summary>
    Private,

    /// <summary>169.254/16 and fe80::/10.</summary>
    LinkLocal,

    /// <summary>fc00::/7 (and the deprecated site-local fec0::/10).</summary>
    UniqueLocal,

    /// <summary>100.64/10, shared address space behind carrier NAT and inside some clouds.</summary>
    CarrierGradeNat,

    /// <summary>Instance metadata and cloud host services (169.254.169.254, fd00:ec2::254, 100.100.100.200, 168.63.129.16, ...).</summary>
    CloudMetadata,

    Multicast,

    Broadcast,

    /// <summary>Documentation, benchmarking, IETF protocol assignments, future use, IPv4-compatible IPv6, Teredo and other special ranges.</summary>
    Reserved,
}

/// <summary>Classifies IPv4 and IPv6 addresses (shared by every capability that calls user-given URLs: webhooks, pipeline http steps); IPv6 forms that embed an IPv4 address (mapped, IPv4-translated, NAT64, 6to4) are judged by that address.</summary>
public static class AddressClassifier
{
    private static readonly HashSet<IPAddress> MetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), // AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
        IPAddress.Parse("169.254.170.2"), // AWS ECS task metadata
        IPAddress.Parse("100.100.100.200"), // Alibaba Cloud
        IPAddress.Parse("168.63.129.16"), // Azure WireServer: a public-looking address that is a host service
        IPAddress.Parse("fd00:ec2::254"), // AWS IMDS over IPv6
    ];

    // Order matters only for readability: the ranges do not overlap.
    private static readonly (IPNetwork Network, AddressKind Kind)[] V4Ranges =
    [
        (IPNetwork.Parse("0.0.0.0/8"), AddressKind.Unspecified),
        (IPNetwork.Parse("10.0.0.0/8"), AddressKind.Private),
        (IPNetwork.Parse("100.64.0.0/10"), AddressKind.CarrierGradeNat),
        (IPNetwork.Parse("127.0.0.0/8"), AddressKind.Loopback),
        (IPNetwork.Parse("169.254.0.0/16"), AddressKind.LinkLocal),
        (IPNetwork.Parse("172.16.0.0/12"), AddressKind.Private),
        (IPNetwork.Parse("192.0.0.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.0.2.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.88.99.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("192.168.0.0/16"), AddressKind.Private),
        (IPNetwork.Parse("198.18.0.0/15"), AddressKind.Reserved),
        (IPNetwork.Parse("198.51.100.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("203.0.113.0/24"), AddressKind.Reserved),
        (IPNetwork.Parse("224.0.0.0/4"), AddressKind.Multicast),
        (IPNetwork.Parse("255.255.255.255/32"), AddressKind.Broadcast),
        (IPNetwork.Parse("240.0.0.0/4"), AddressKind.Reserved),
    ];

    private static readonly (IPNetwork Network, AddressKind Kind)[] V6Ranges =
    [
        (IPNetwork.Parse("::/128"), AddressKind.Unspecified),
        (IPNetwork.Parse("::1/128"), AddressKind.Loopback),
        (IPNetwork.Parse("::/96"), AddressKind.Reserved), // IPv4-compatible, deprecated
        (IPNetwork.Parse("64:ff9b:1::/48"), AddressKind.Reserved), // local-use NAT64
        (IPNetwork.Parse("100::/64"), AddressKind.Reserved), // discard-only
        (IPNetwork.Parse("2001::/32"), AddressKind.Reserved), // Teredo: tunnels to arbitrary IPv4
        (IPNetwork.Parse("2001:db8::/32"), AddressKind.Reserved), // documentation
        (IPNetwork.Parse("fc00::/7"), AddressKind.UniqueLocal),
        (IPNetwork.Parse("fe80::/10"), AddressKind.LinkLocal),
        (IPNetwork.Parse("fec0::/10"), AddressKind.UniqueLocal), // site-local, deprecated
        (IPNetwork.Parse("ff00::/8"), AddressKind.Multicast),
    ];

    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    /// <summary>IPv4-translated (SIIT, RFC 7915's ::ffff:0:a.b.c.d): a translator on the path reaches the embedded IPv4 address.</summary>
    private static readonly IPNetwork Ipv4Translated = IPNetwork.Parse("::ffff:0:0:0/96");

    public static AddressKind Classify(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            // Zone ids (fe80::1%eth0) do not change what the address is.
            if (address.ScopeId != 0)
            {
                address = new IPAddress(address.GetAddressBytes());
            }

            if (address.IsIPv4MappedToIPv6)
            {
                return Classify(address.MapToIPv4());
            }

            var bytes = address.GetAddressBytes();
            if (Nat64.Contains(address) || Ipv4Translated.Contains(address))
            {
                return Classify(new IPAddress(bytes.AsSpan(12, 4)));
            }

            if (SixToFour.Contains(address))
            {
                return Classify(new IPAddress(bytes.AsSpan(2, 4)));
            }
        }

        if (MetadataAddresses.Contains(address))
        {
            return AddressKind.CloudMetadata;
        }

        var ranges = address.AddressFamily switch
        {
            AddressFamily.InterNetwork => V4Ranges,
            AddressFamily.InterNetworkV6 => V6Ranges,
            _ => throw new ArgumentException("Only IPv4 and IPv6 addresses can be classified.", nameof(address)),
        };

        // The most specific range wins (::/128 and ::1/128 sit inside ::/96).
        AddressKind? found = null;
        var longestPrefix = -1;
        foreach (var (network, kind) in ranges)
        {
            if (network.PrefixLength > longestPrefix && network.Contains(address))
            {
                found = kind;
                longestPrefix = network.PrefixLength;
            }
        }

        return found ?? AddressKind.Public;
    }
}
