using System.Net;
using System.Net.Sockets;
using System.Text;
using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

/// <summary>The connect-time guard against a real TCP listener on 127.0.0.1; a fake resolver plays a rebinding DNS.</summary>
public sealed class OutboundHttpHandlerFactoryTests : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public OutboundHttpHandlerFactoryTests() => _listener.Start();

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public void Dispose() => _listener.Stop();

    // "rebound.example.com" passed registration with a public address and now resolves to loopback.
    private static Task<IPAddress[]> RebindingDns(string host, CancellationToken cancellationToken) => host switch
    {
        "rebound.example.com" => Task.FromResult(new[] { IPAddress.Loopback }),
        "mixed.example.com" => Task.FromResult(new[] { IPAddress.Parse("10.0.0.7"), IPAddress.Loopback }),
        _ => Task.FromException<IPAddress[]>(new SocketException((int)SocketError.HostNotFound)),
    };

    [Theory]
    [InlineData("rebound.example.com")]
    [InlineData("127.0.0.1")]
    [InlineData("[::ffff:127.0.0.1]")]
    public async Task Without_the_allow_list_the_request_is_refused_before_any_connection(string host)
    {
        using var client = OutboundHttpHandlerFactory.CreateClient(OutboundDestinationPolicy.Default, resolve: RebindingDns);

        var error = await Assert.ThrowsAsync<HttpRequestException>(
            () => client.PostAsync(new Uri($"http://{host}:{Port}/hook?token=s3cret"), new StringContent("{}"), TestContext.Current.CancellationToken));

        var refused = Assert.IsType<OutboundDestinationRefusedException>(error.InnerException);
        Assert.Contains("Loopback", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", refused.Message, StringComparison.Ordinal);
        // A completed TCP handshake would sit in the backlog; nothing does.
        Assert.False(_listener.Pending());
    }

    [Fact]
    public async Task Metadata_host_names_are_refused_by_name_before_resolving()
    {
        var resolved = false;
        using var client = OutboundHttpHandlerFactory.CreateClient(
            OutboundDestinationPolicy.Default,
            resolve: (_, _) =>
            {
                resolved = true;
                return Task.FromResult(new[] { IPAddress.Loopback });
            });

        var error = await Assert.ThrowsAsync<HttpRequestException>(
            () => client.GetAsync(new Uri($"http://metadata.google.internal:{Port}/"), TestContext.Current.CancellationToken));

        Assert.IsType<OutboundDestinationRefusedException>(error.InnerException);
        Assert.False(resolved);
        Assert.False(_listener.Pending());
    }

    [Fact]
    public async Task With_loopback_allowed_the_request_reaches_the_listener()
    {
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"]));
        using var client = OutboundHttpHandlerFactory.CreateClient(policy, resolve: RebindingDns);
        var server = ServeOnce("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");

        using var response = await client.PostAsync(
            new Uri($"http://rebound.example.com:{Port}/hook"), new StringContent("{\"a\":1}"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var request = await server;
        Assert.StartsWith("POST /hook HTTP/1.1", request, StringComparison.Ordinal);
        Assert.Contains($"Host: rebound.example.com:{Port}", request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Connects_only_to_a_permitted_address_when_the_host_resolves_to_several()
    {
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"]));
        using var client = OutboundHttpHandlerFactory.CreateClient(policy, resolve: RebindingDns);
        var server = ServeOnce("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");

        using var response = await client.GetAsync(new Uri($"http://mixed.example.com:{Port}/"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        await server;
    }

    [Fact]
    public async Task Redirects_are_returned_not_followed()
    {
        var policy = new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"]));
        using var client = OutboundHttpHandlerFactory.CreateClient(policy);
        var server = ServeOnce($"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:{Port}/elsewhere\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");

        using var response = await client.GetAsync(new Uri($"http://127.0.0.1:{Port}/hook"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Found, response.StatusCode);
        await server;
        Assert.False(_listener.Pending());
    }

    [Fact]
    public void The_handler_never_redirects_or_uses_a_proxy_and_the_timeout_is_configurable()
    {
        using var handler = OutboundHttpHandlerFactory.CreateHandler(OutboundDestinationPolicy.Default);
        Assert.False(handler.AllowAutoRedirect);
        Assert.False(handler.UseProxy);
        Assert.NotNull(handler.ConnectCallback);

        using var byDefault = OutboundHttpHandlerFactory.CreateClient(OutboundDestinationPolicy.Default);
        Assert.Equal(TimeSpan.FromSeconds(15), byDefault.Timeout);
        using var custom = OutboundHttpHandlerFactory.CreateClient(OutboundDestinationPolicy.Default, new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(3) });
        Assert.Equal(TimeSpan.FromSeconds(3), custom.Timeout);
    }

    private async Task<string> ServeOnce(string response)
    {
        using var socket = await _listener.AcceptSocketAsync(TestContext.Current.CancellationToken);
        var received = new StringBuilder();
        var buffer = new byte[4096];
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, TestContext.Current.CancellationToken);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        await socket.SendAsync(Encoding.ASCII.GetBytes(response), SocketFlags.None, TestContext.Current.CancellationToken);
        socket.Shutdown(SocketShutdown.Send);
        return received.ToString();
    }
}
