using Serverless.BuildingBlocks.Http;
using System.Net;
using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class SsrfGuardTests
{
    [Theory]
    [InlineData("0.0.0.0", AddressKind.Unspecified)]
    [InlineData("0.1.2.3", AddressKind.Unspecified)]
    [InlineData("127.0.0.1", AddressKind.Loopback)]
    [InlineData("127.255.0.9", AddressKind.Loopback)]
    [InlineData("10.0.0.1", AddressKind.Private)]
    [InlineData("172.16.0.1", AddressKind.Private)]
    [InlineData("172.31.255.255", AddressKind.Private)]
    [InlineData("192.168.1.1", AddressKind.Private)]
    [InlineData("169.254.1.1", AddressKind.LinkLocal)]
    [InlineData("169.254.169.254", AddressKind.CloudMetadata)]
    [InlineData("100.64.0.1", AddressKind.CarrierGradeNat)]
    [InlineData("100.127.255.255", AddressKind.CarrierGradeNat)]
    [InlineData("100.100.100.200", AddressKind.CloudMetadata)]
    [InlineData("168.63.129.16", AddressKind.CloudMetadata)]
    [InlineData("224.0.0.1", AddressKind.Multicast)]
    [InlineData("255.255.255.255", AddressKind.Broadcast)]
    [InlineData("240.0.0.1", AddressKind.Reserved)]
    [InlineData("192.0.2.10", AddressKind.Reserved)]
    [InlineData("::", AddressKind.Unspecified)]
    [InlineData("::1", AddressKind.Loopback)]
    [InlineData("::ffff:127.0.0.1", AddressKind.Loopback)]
    [InlineData("::ffff:169.254.169.254", AddressKind.CloudMetadata)]
    [InlineData("::ffff:10.1.2.3", AddressKind.Private)]
    [InlineData("::127.0.0.1", AddressKind.Reserved)]
    [InlineData("64:ff9b::a9fe:a9fe", AddressKind.CloudMetadata)]
    [InlineData("2002:7f00:1::", AddressKind.Loopback)]
    [InlineData("::ffff:0:7f00:1", AddressKind.Loopback)]
    [InlineData("::ffff:0:a9fe:a9fe", AddressKind.CloudMetadata)]
    [InlineData("::ffff:0:a00:1", AddressKind.Private)]
    [InlineData("fc00::1", AddressKind.UniqueLocal)]
    [InlineData("fdff:ffff::1", AddressKind.UniqueLocal)]
    [InlineData("fd00:ec2::254", AddressKind.CloudMetadata)]
    [InlineData("fe80::1", AddressKind.LinkLocal)]
    [InlineData("fe80::1%2", AddressKind.LinkLocal)]
    [InlineData("febf::1", AddressKind.LinkLocal)]
    [InlineData("ff02::1", AddressKind.Multicast)]
    [InlineData("2001:db8::1", AddressKind.Reserved)]
    [InlineData("8.8.8.8", AddressKind.Public)]
    [InlineData("100.63.255.255", AddressKind.Public)]
    [InlineData("100.128.0.0", AddressKind.Public)]
    [InlineData("172.15.255.255", AddressKind.Public)]
    [InlineData("172.32.0.0", AddressKind.Public)]
    [InlineData("2606:4700::1111", AddressKind.Public)]
    [InlineData("::ffff:8.8.8.8", AddressKind.Public)]
    [InlineData("64:ff9b::808:808", AddressKind.Public)]
    [InlineData("::ffff:0:808:808", AddressKind.Public)]
    public void Classifies_addresses(string address, AddressKind expected) =>
        Assert.Equal(expected, AddressClassifier.Classify(IPAddress.Parse(address)));

    [Fact]
    public void Allow_list_permits_listed_ranges_including_through_mapped_ipv6()
    {
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["10.1.0.0/16", "127.0.0.1", "fd12::/16", "hooks.internal"]));

        Assert.True(policy.Check("x", IPAddress.Parse("10.1.2.3")).Permitted);
        Assert.True(policy.Check("x", IPAddress.Parse("::ffff:10.1.2.3")).Permitted);
        Assert.False(policy.Check("x", IPAddress.Parse("10.2.0.1")).Permitted);
        Assert.True(policy.Check("x", IPAddress.Parse("127.0.0.1")).Permitted);
        Assert.False(policy.Check("x", IPAddress.Parse("127.0.0.2")).Permitted);
        Assert.True(policy.Check("x", IPAddress.Parse("fd12::9")).Permitted);
        Assert.True(policy.Check("HOOKS.internal.", IPAddress.Parse("192.168.0.5")).Permitted);
        Assert.Equal(AddressKind.Private, policy.Check("x", IPAddress.Parse("10.1.2.3")).Kind);
    }

    [Theory]
    [InlineData("10.0.0.0/x")]
    [InlineData("10.0.0.0/33")]
    [InlineData("not a host")]
    [InlineData("")]
    public void Allow_list_rejects_malformed_entries(string entry) =>
        Assert.Throws<ArgumentException>(() => new OutboundAllowList([entry]));

    [Theory]
    [InlineData("https://hooks.example.com/in", true)]
    [InlineData("http://hooks.example.com:8080/in?x=1", true)]
    [InlineData("https://8.8.8.8/", true)]
    [InlineData("https://private.example.com/", false)]
    [InlineData("https://mixed.example.com/", false)]
    [InlineData("https://127.0.0.1/", false)]
    [InlineData("https://[::1]/", false)]
    [InlineData("https://[::ffff:169.254.169.254]/", false)]
    [InlineData("http://2130706433/", false)]
    [InlineData("http://metadata.google.internal/computeMetadata/v1/", false)]
    [InlineData("http://Metadata.Google.Internal./", false)]
    [InlineData("https://nowhere.example.com/", false)]
    [InlineData("https://empty.example.com/", false)]
    [InlineData("ftp://hooks.example.com/", false)]
    [InlineData("https://user:pass@hooks.example.com/", false)]
    [InlineData("/relative", false)]
    public async Task Registration_check_refuses_if_any_resolved_address_is_forbidden(string url, bool permitted)
    {
        var check = await WebhookUrl.CheckAsync(url, OutboundDestinationPolicy.Default, FakeDns, TestContext.Current.CancellationToken);
        Assert.Equal(permitted, check.Permitted);
        Assert.Equal(permitted, check.Problem is null);
    }

    [Fact]
    public async Task Registration_check_reports_the_forbidden_address_but_never_the_path_or_query()
    {
        var check = await WebhookUrl.CheckAsync("https://mixed.example.com/hook?token=s3cret", OutboundDestinationPolicy.Default, FakeDns, TestContext.Current.CancellationToken);
        Assert.Contains("10.0.0.7 (Private)", check.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", check.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Registration_check_allows_listed_private_destinations()
    {
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["10.0.0.0/8", "metadata.google.internal"]));
        Assert.True((await WebhookUrl.CheckAsync("https://private.example.com/", policy, FakeDns, TestContext.Current.CancellationToken)).Permitted);
        Assert.True((await WebhookUrl.CheckAsync("https://mixed.example.com/", policy, FakeDns, TestContext.Current.CancellationToken)).Permitted);
        Assert.True((await WebhookUrl.CheckAsync("http://metadata.google.internal/", policy, FakeDns, TestContext.Current.CancellationToken)).Permitted);
    }

    [Theory]
    [InlineData("http://127.0.0.2:7102/gone3?api_key=LEAKME123", "http://127.0.0.2:7102")]
    [InlineData("https://user:pw@hooks.example.com/services/T0/B0/SECRET?x=1#f", "https://hooks.example.com")]
    [InlineData("https://hooks.example.com:443/in", "https://hooks.example.com")]
    [InlineData("https://[2606:2800:220:1::1]:8443/in?token=s3cret", "https://[2606:2800:220:1::1]:8443")]
    public void The_origin_shown_to_others_has_no_path_query_or_user_info(string url, string origin)
    {
        Assert.Equal(origin, WebhookUrl.Origin(url));
    }

    private static Task<IPAddress[]> FakeDns(string host, CancellationToken cancellationToken) => host switch
    {
        "hooks.example.com" => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34"), IPAddress.Parse("2606:2800:220:1::1") }),
        "private.example.com" => Task.FromResult(new[] { IPAddress.Parse("10.0.0.7") }),
        "mixed.example.com" => Task.FromResult(new[] { IPAddress.Parse("93.184.216.34"), IPAddress.Parse("10.0.0.7") }),
        "metadata.google.internal" => Task.FromResult(new[] { IPAddress.Parse("169.254.169.254") }),
        "empty.example.com" => Task.FromResult(Array.Empty<IPAddress>()),
        _ => Task.FromException<IPAddress[]>(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.HostNotFound)),
    };
}
