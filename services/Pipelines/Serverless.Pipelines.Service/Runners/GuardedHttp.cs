using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Polly;
using Polly.Retry;
using Serverless.BuildingBlocks.Http;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The HTTP client of http and deploy steps. Its connect callback resolves the host itself and connects only to a
/// public address or one on <c>Pipelines:Http:AllowList</c>, so a step cannot reach the metadata service or the
/// internal network, even through a name that resolves there. No redirects, no proxy.
/// <para>
/// Answers are never buffered whole: each call says how many bytes of the body it keeps (an http step's
/// <c>body</c> output needs <see cref="Serverless.Pipelines.Runs.StepOutputLimit.HttpBodyReadBytes"/>, a deployment
/// API's JSON at most <see cref="DeployExecutor.MaxAnswerBytes"/>, a health check or an operation only the status), at
/// most that and one byte more (to tell that there was more) is read, and the connection is closed without reading
/// the rest. The timeout (<c>Pipelines:Http:TimeoutSeconds</c>) bounds each try whole, from connecting to the last
/// byte read.
/// </para>
/// <para>
/// Failed tries are tried again up to <see cref="MaxRetries"/> times with exponential backoff from
/// <see cref="RetryBaseDelay"/> (Polly), by <see cref="HttpRetryRule"/>: idempotent methods (GET, HEAD, OPTIONS,
/// TRACE, PUT, DELETE) on network errors, 408, 429 and 5xx; POST, PATCH and other methods only when no connection
/// could be made or the server declined with 429 or 503, so a request that may have been processed (a 500, a
/// connection dropped after sending) is never sent twice. A <c>Retry-After</c> on a 429 or 503 of at most
/// <see cref="MaxRetryDelay"/> sets the wait; a longer one is ignored for the backoff.
/// </para>
/// </summary>
public sealed class GuardedHttp : IDisposable
{
    /// <summary>How often a failed try is tried again (so at most this plus one tries).</summary>
    public const int MaxRetries = 3;

    /// <summary>The first backoff; it doubles per retry (200 ms, 400 ms, 800 ms).</summary>
    public static readonly TimeSpan RetryBaseDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest wait between tries: a <c>Retry-After</c> asking for more is not honoured.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromSeconds(5);

    private static readonly ResiliencePropertyKey<HttpMethod> MethodKey = new("pipelines.http.method");

    private readonly IReadOnlyList<IPNetwork> _allowList;
    private readonly HttpClient _client;
    private readonly ResiliencePipeline<HttpAnswer> _retry;
    private readonly TimeProvider _time;

    public GuardedHttp(IReadOnlyList<IPNetwork> allowList, TimeSpan timeout, TimeProvider? time = null)
    {
        _allowList = allowList;
        _time = time ?? TimeProvider.System;
        Timeout = timeout;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            UseProxy = false,
            UseCookies = false,
            ConnectTimeout = timeout,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectCallback = ConnectAsync,

            // An answer not read to its end closes its connection: nothing more of it is read to reuse the connection.
            MaxResponseDrainSize = 0,
        };

        // Each try has its own deadline instead: it bounds reading the body too, which HttpClient.Timeout does not once
        // the headers are in.
        _client = new HttpClient(handler) { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
        _retry = new ResiliencePipelineBuilder<HttpAnswer>()
            .AddRetry(new RetryStrategyOptions<HttpAnswer>
            {
                MaxRetryAttempts = MaxRetries,
                Delay = RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                MaxDelay = MaxRetryDelay,
                ShouldHandle = args => ValueTask.FromResult(HttpRetryRule.ShouldRetry(
                    args.Context.Properties.GetValue(MethodKey, HttpMethod.Post), args.Outcome.Result?.Status, args.Outcome.Exception)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result is { } answer
                    ? HttpRetryRule.Delay(answer.Status, answer.RetryAfter, MaxRetryDelay)
                    : null),
            })
            .Build();
    }

    /// <summary>How long one try may take, from connecting to reading the last byte kept (<c>Pipelines:Http:TimeoutSeconds</c>).</summary>
    public TimeSpan Timeout { get; }

    /// <summary>
    /// Sends with retries (<see cref="HttpRetryRule"/>); <paramref name="request"/> builds a fresh message per try. Keeps
    /// at most <paramref name="maxBodyBytes"/> of the answer's body (0: reads none of it).
    /// </summary>
    /// <exception cref="HttpRequestException">The last try failed without an answer (or reading its body failed).</exception>
    /// <exception cref="OperationCanceledException">A try took longer than <see cref="Timeout"/>, or <paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<HttpAnswer> SendAsync(Func<HttpRequestMessage> request, int maxBodyBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        try
        {
            return await _retry.ExecuteAsync(
                static (context, state) => new ValueTask<HttpAnswer>(state.Http.TryAsync(state.Request, state.MaxBodyBytes, context, context.CancellationToken)),
                context,
                (Http: this, Request: request, MaxBodyBytes: maxBodyBytes)).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>One try, never repeated (a health check polls on its own); otherwise as <see cref="SendAsync"/>.</summary>
    public Task<HttpAnswer> SendOnceAsync(Func<HttpRequestMessage> request, int maxBodyBytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        return TryAsync(request, maxBodyBytes, null, cancellationToken);
    }

    private async Task<HttpAnswer> TryAsync(Func<HttpRequestMessage> request, int maxBodyBytes, ResilienceContext? context, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (Timeout > TimeSpan.Zero && Timeout <= CancelAfterLimit.Maximum)
        {
            deadline.CancelAfter(Timeout);
        }

        using var message = request();
        context?.Properties.Set(MethodKey, message.Method);
        using var response = await _client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline.Token).ConfigureAwait(false);
        var (body, truncated) = await ReadAsync(response.Content, maxBodyBytes, deadline.Token).ConfigureAwait(false);
        return new HttpAnswer(
            (int)response.StatusCode,
            body,
            truncated,
            response.Content.Headers.ContentType?.CharSet,
            HttpRetryRule.RetryAfter(response.Headers.RetryAfter, _time.GetUtcNow()));
    }

    /// <summary>The first <paramref name="maxBytes"/> of <paramref name="content"/>, and whether it holds more; reads at most one byte past them.</summary>
    private static async Task<(byte[] Body, bool Truncated)> ReadAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        if (maxBytes <= 0)
        {
            return ([], false);
        }

        try
        {
            var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                using var kept = new MemoryStream();

                // Pooled: a fresh 16 KB array per answer was a third of the byte arrays a running HTTP step allocated.
                var size = Math.Min(maxBytes + 1, 16 * 1024);
                var buffer = ArrayPool<byte>.Shared.Rent(size);
                try
                {
                    while (kept.Length <= maxBytes)
                    {
                        var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(size, maxBytes + 1 - kept.Length)), cancellationToken).ConfigureAwait(false);
                        if (read == 0)
                        {
                            break;
                        }

                        kept.Write(buffer, 0, read);
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }

                var bytes = kept.ToArray();
                return bytes.Length > maxBytes ? (bytes[..maxBytes], true) : (bytes, false);
            }
        }
        catch (IOException) when (cancellationToken.IsCancellationRequested)
        {
            // The deadline or a cancel closed the stream under the read: a timeout or cancel, as when waiting for headers.
            throw new OperationCanceledException(cancellationToken);
        }
        catch (IOException ex)
        {
            // The connection broke while the body arrived: a network error of the call, like one before the answer.
            throw new HttpRequestException(ex is HttpIOException io ? io.HttpRequestError : HttpRequestError.Unknown, $"reading the answer failed: {ex.Message}", ex);
        }
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

    public void Dispose() => _client.Dispose();
}

/// <summary>
/// One answer: its status, the first bytes of its body (at most what the call asked to keep) and whether the body held
/// more, the charset of its content type, and the wait its <c>Retry-After</c> asked for.
/// </summary>
public sealed record HttpAnswer(int Status, byte[] Body, bool Truncated, string? CharSet, TimeSpan? RetryAfter)
{
    public bool IsSuccess => Status is >= 200 and <= 299;
}

/// <summary>The destination is not one steps may reach.</summary>
public sealed class ForbiddenDestinationException(string message) : Exception(message);
