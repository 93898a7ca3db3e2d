using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Webhooks.Service.Delivery;

/// <summary>
/// Makes one signed delivery attempt and decides what follows: the body is the CloudEvent JSON, signed with
/// Standard Webhooks headers (<c>webhook-id</c> = the event id, or <see cref="WebhookMessageId"/>'s stable mapping of one that
/// is not a valid message id, the same across retries; <c>webhook-timestamp</c>
/// per attempt; one signature per active secret). The HTTP client must come from
/// <see cref="OutboundHttpHandlerFactory"/>: it never follows redirects and re-checks addresses at connect time.
/// </summary>
public sealed class DeliveryAttempter(HttpClient client, DeliveryRetryPolicy policy, TimeProvider time)
{
    /// <summary>How much of a response the attempts log keeps.</summary>
    public const int ResponseSnippetBytes = 4 * 1024;

    public async Task<(DeliveryAttempt Attempt, NextStep Next)> AttemptAsync(
        WebhookEndpoint endpoint, string deliveryId, string eventId, ReadOnlyMemory<byte> cloudEventJson, int attempt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var startedAt = time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        DeliveryAttemptOutcome outcome;
        int? status = null;
        string? error = null;
        var snippet = string.Empty;
        try
        {
            var signature = WebhookSigner.Sign(WebhookMessageId.For(eventId), startedAt, cloudEventJson.Span, endpoint.Secrets().ActiveAt(startedAt));
            using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url) { Content = new ReadOnlyMemoryContent(cloudEventJson) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            foreach (var (name, value) in endpoint.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            request.Headers.TryAddWithoutValidation(WebhookSignatureHeaders.IdHeader, signature.Id);
            request.Headers.TryAddWithoutValidation(WebhookSignatureHeaders.TimestampHeader, signature.Timestamp);
            request.Headers.TryAddWithoutValidation(WebhookSignatureHeaders.SignatureHeader, signature.Signature);

            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
            status = (int)response.StatusCode;
            snippet = await ReadSnippetAsync(response, BodyTime(client.Timeout, clock.Elapsed), cancellationToken).ConfigureAwait(false);
            outcome = new DeliveryAttemptOutcome.Response(status.Value, response.Headers.TryGetValues("Retry-After", out var retryAfter) ? retryAfter.FirstOrDefault() : null);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error = "timed out";
            outcome = new DeliveryAttemptOutcome.TimedOut();
        }
        catch (HttpRequestException ex)
        {
            // The refusal of a forbidden address arrives here too; its message names the host, never the URL. Otherwise
            // the message says what failed (HttpRequestError alone is often just "Unknown").
            error = ex.InnerException is OutboundDestinationRefusedException refused ? refused.Message : Describe(ex);
            outcome = new DeliveryAttemptOutcome.ConnectionFailed(error);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Anything else (a bad secret, a request that cannot be built) is a failed attempt like any other: recorded,
            // retried on the schedule and finally dead-lettered — never an exception that leaves the delivery to its lease.
            error = $"the attempt failed: {ex.GetType().Name}: {ex.Message}";
            outcome = new DeliveryAttemptOutcome.Faulted(error);
        }

        var record = new DeliveryAttempt(deliveryId, endpoint.Id, eventId, attempt, startedAt, clock.Elapsed.TotalMilliseconds, status, error, snippet);
        return (record, policy.Decide(attempt, outcome, time.GetUtcNow()));
    }

    /// <summary>The exception's message (and its inner one's, if it adds anything), never a stack trace.</summary>
    private static string Describe(HttpRequestException ex)
    {
        var message = ex.HttpRequestError == HttpRequestError.Unknown ? ex.Message : $"{ex.HttpRequestError}: {ex.Message}";
        return ex.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal) ? $"{message} ({inner.Message})" : message;
    }

    /// <summary>
    /// The attempt's timeout bounds the whole attempt: the body gets what the answer left of it (at least a moment, for
    /// a body already on its way), not a timeout of its own — an attempt never lasts about twice the timeout.
    /// </summary>
    private static TimeSpan BodyTime(TimeSpan timeout, TimeSpan elapsed) =>
        timeout == Timeout.InfiniteTimeSpan ? timeout : TimeSpan.FromTicks(Math.Max((timeout - elapsed).Ticks, BodyGrace.Ticks));

    private static readonly TimeSpan BodyGrace = TimeSpan.FromMilliseconds(250);

    /// <summary>The status decides the outcome; the body is only logged, so a body that stalls is cut off, not waited for.</summary>
    private static async Task<string> ReadSnippetAsync(HttpResponseMessage response, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        var buffer = new byte[ResponseSnippetBytes];
        var filled = 0;
        try
        {
            var stream = await response.Content.ReadAsStreamAsync(limit.Token).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                int read;
                while (filled < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(filled), limit.Token).ConfigureAwait(false)) > 0)
                {
                    filled += read;
                }
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Keep what arrived.
        }
        catch (IOException)
        {
            // The receiver closed mid-body: keep what arrived.
        }

        return Encoding.UTF8.GetString(buffer, 0, filled);
    }
}
