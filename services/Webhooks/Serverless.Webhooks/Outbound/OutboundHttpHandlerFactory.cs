using Serverless.BuildingBlocks.Http;
using System.Net;
using System.Net.Sockets;

namespace Serverless.Webhooks.Outbound;

public sealed record OutboundHttpOptions
{
    /// <summary>The whole request, connect to last response byte; a slow receiver counts as a failed attempt.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Receivers answer with a status; a huge body is never needed and only costs memory.</summary>
    public long MaxResponseContentBufferSize { get; init; } = 64 * 1024;
}

/// <summary>
/// Builds the HTTP stack that sends webhooks. This is the one place in the domain library that does I/O: its
/// connect callback resolves the host itself, drops forbidden addresses and connects only to a permitted one,
/// so a name that passed registration and later rebinds to 127.0.0.1 or 169.254.169.254 is still refused.
/// Redirects are never followed (a 3xx is a failed attempt) and proxies are never used (a proxy would connect
/// on our behalf, past the check).
/// </summary>
public static class OutboundHttpHandlerFactory
{
    public static SocketsHttpHandler CreateHandler(
        OutboundDestinationPolicy policy,
        OutboundHttpOptions? options = null,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        ArgumentNullException.ThrowIfNull(policy);
        options ??= new OutboundHttpOptions();
        resolve ??= Dns.GetHostAddressesAsync;
        return new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = options.Timeout,
            // Re-resolve (and so re-check) periodically instead of reusing a connection for ever.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = (context, cancellationToken) => ConnectAsync(policy, resolve, context.DnsEndPoint, cancellationToken),
        };
    }

    /// <summary>An <see cref="HttpClient"/> over <see cref="CreateHandler"/> with the configured timeout.</summary>
    public static HttpClient CreateClient(
        OutboundDestinationPolicy policy,
        OutboundHttpOptions? options = null,
        Func<string, CancellationToken, Task<IPAddress[]>>? resolve = null)
    {
        options ??= new OutboundHttpOptions();
        return new HttpClient(CreateHandler(policy, options, resolve), disposeHandler: true)
        {
            Timeout = options.Timeout,
            MaxResponseContentBufferSize = options.MaxResponseContentBufferSize,
        };
    }

    private static async ValueTask<Stream> ConnectAsync(
        OutboundDestinationPolicy policy,
        Func<string, CancellationToken, Task<IPAddress[]>> resolve,
        DnsEndPoint endPoint,
        CancellationToken cancellationToken)
    {
        var host = endPoint.Host;
        if (policy.RefuseHostName(host) is { } nameProblem)
        {
            throw new OutboundDestinationRefusedException(host, nameProblem);
        }

        var addresses = OutboundDestinationPolicy.TryParseLiteral(host, out var literal)
            ? [literal]
            : await resolve(HostNames.Normalise(host), cancellationToken).ConfigureAwait(false);

        var permitted = new List<IPAddress>();
        var refusedKinds = new SortedSet<AddressKind>();
        foreach (var address in addresses)
        {
            var verdict = policy.Check(host, address);
            if (verdict.Permitted)
            {
                permitted.Add(address);
            }
            else
            {
                refusedKinds.Add(verdict.Kind);
            }
        }

        if (permitted.Count == 0)
        {
            throw new OutboundDestinationRefusedException(
                host,
                addresses.Length == 0 ? "the host does not resolve" : $"it resolves only to forbidden addresses ({string.Join(", ", refusedKinds)})");
        }

        SocketException? last = null;
        foreach (var address in permitted)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(new IPEndPoint(address, endPoint.Port), cancellationToken).ConfigureAwait(false);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch (SocketException ex)
            {
                socket.Dispose();
                last = ex;
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        throw last!;
    }
}
