using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Serverless.BuildingBlocks.Http;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The HTTP client of http and deploy steps. Its connect callback resolves the host itself and connects only to a
/// public address or one on <c>Pipelines:Http:AllowList</c>, so a step cannot reach the metadata service or the
/// internal network, even through a name that resolves there. No redirects, no proxy. Transient failures (network
/// errors, 408, 429, 5xx) are retried a few times with backoff (Polly).
/// </summary>
public sealed class GuardedHttp : IDisposable
{
    private readonly IReadOnlyList<IPNetwork> _allowList;

    public GuardedHttp(IReadOnlyList<IPNetwork> allowList, TimeSpan timeout)
    {
        _allowList = allowList;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = ConnectAsync,
        };
        Client = new HttpClient(handler) { Timeout = timeout };
        Retry = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                MaxRetryAttempts = 3,
                Delay = TimeSpan.FromMilliseconds(200),
                BackoffType = DelayBackoffType.Exponential,
                ShouldHandle = new PredicateBuilder<HttpResponseMessage>()
                    .Handle<HttpRequestException>(ex => ex.InnerException is not ForbiddenDestinationException)
                    .HandleResult(r => (int)r.StatusCode is 408 or 429 or >= 500),
            })
            .Build();
    }

    public HttpClient Client { get; }

    public ResiliencePipeline<HttpResponseMessage> Retry { get; }

    /// <summary>Sends with retries; <paramref name="request"/> builds a fresh message per try.</summary>
    public async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return await Retry.ExecuteAsync(async token =>
        {
            using var message = request();
            return await Client.SendAsync(message, token).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    public bool IsAllowed(IPAddress address) =>
        AddressClassifier.Classify(address) == AddressKind.Public || _allowList.Any(n => n.Contains(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var endPoint = context.DnsEndPoint;
        var addresses = IPAddress.TryParse(endPoint.Host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(endPoint.Host, cancellationToken).ConfigureAwait(false);
        var permitted = addresses.Where(IsAllowed).ToList();
        if (permitted.Count == 0)
        {
            throw new ForbiddenDestinationException($"{endPoint.Host} resolves only to addresses steps may not reach (private, loopback, metadata...); add it to Pipelines:Http:AllowList if it is meant to be reached.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(permitted.ToArray(), endPoint.Port, cancellationToken).ConfigureAwait(false);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>The destination is not one steps may reach.</summary>
public sealed class ForbiddenDestinationException(string message) : Exception(message);
