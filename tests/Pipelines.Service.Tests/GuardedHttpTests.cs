using System.Net;
using Serverless.Pipelines.Service.Runners;

namespace Pipelines.Service.Tests;

public sealed class GuardedHttpTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]
    [InlineData("::1")]
    public void Private_loopback_and_metadata_addresses_are_refused_by_default(string address)
    {
        using var http = new GuardedHttp([], TimeSpan.FromSeconds(5));
        Assert.False(http.IsAllowed(IPAddress.Parse(address)));
    }

    [Fact]
    public void The_allow_list_opens_private_ranges_but_nothing_else()
    {
        using var http = new GuardedHttp([IPNetwork.Parse("127.0.0.0/8")], TimeSpan.FromSeconds(5));
        Assert.True(http.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(http.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(http.IsAllowed(IPAddress.Parse("169.254.169.254")));
        Assert.True(http.IsAllowed(IPAddress.Parse("93.184.216.34")));
    }

    [Fact]
    public async Task A_request_to_a_refused_address_fails_before_connecting_and_is_not_retried()
    {
        using var http = new GuardedHttp([], TimeSpan.FromSeconds(5));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), CancellationToken.None));
        Assert.IsType<ForbiddenDestinationException>(ex.InnerException);
    }
}
