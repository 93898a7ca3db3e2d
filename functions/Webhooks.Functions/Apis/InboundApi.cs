using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Serverless.Webhooks.Service.Inbound;

namespace Serverless.Webhooks.Functions.Apis;

public sealed record ReceiptAccepted(string ReceiptId, bool Duplicate);

/// <summary>
/// POST /api/webhooks/in/{source}: the HTTP trigger of the inbound gateway. Authenticated by the delivery's
/// signature or token, not by an API key. 202 only after the receipt and its events are durably stored.
/// </summary>
public static class InboundApi
{
    private static readonly string[] AcceptedMediaTypes = ["application/json", "application/x-www-form-urlencoded", "text/plain"];

    public static RouteHandlerBuilder MapInboundApi(this IEndpointRouteBuilder routes) =>
        routes.MapPost(WebhooksModule.RoutePrefix + "/in/{source}", ReceiveAsync)
            .AllowAnonymous()
            .WithTags("Webhooks")
            .WithSummary("Receive a webhook (GitHub, GitLab, Standard Webhooks, Alertmanager, generic); verified on the raw body");

    private static async Task<Results<Accepted<ReceiptAccepted>, Ok<ReceiptAccepted>, ProblemHttpResult>> ReceiveAsync(
        string source, HttpRequest request, WebhookReceiver receiver, IConfiguration configuration, CancellationToken cancellationToken)
    {
        var limit = configuration.GetValue<long?>("Webhooks:MaxBodyBytes") ?? 1024 * 1024;
        var mediaType = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType is null || !(AcceptedMediaTypes.Contains(mediaType) || mediaType.EndsWith("+json", StringComparison.Ordinal)))
        {
            return TypedResults.Problem(statusCode: 415, title: "Unsupported media type", detail: "Send JSON, form-encoded or plain-text bodies.");
        }

        if (request.ContentLength > limit)
        {
            return TypedResults.Problem(statusCode: 413, title: "Body too large", detail: $"A webhook body may be at most {limit} bytes.");
        }

        var body = await ReadBodyAsync(request, limit, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: "Body too large", detail: $"A webhook body may be at most {limit} bytes.");
        }

        var headers = request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        switch (await receiver.ReceiveAsync(source, headers, request.ContentType, body, cancellationToken).ConfigureAwait(false))
        {
            case ReceiveOutcome.Accepted { Duplicate: false } accepted:
                return TypedResults.Accepted($"{WebhooksModule.RoutePrefix}/receipts/{accepted.ReceiptId}", new ReceiptAccepted(accepted.ReceiptId, false));
            case ReceiveOutcome.Accepted duplicate:
                return TypedResults.Ok(new ReceiptAccepted(duplicate.ReceiptId, true));
            case ReceiveOutcome.UnknownSource:
                return TypedResults.Problem(statusCode: 404, title: "Unknown webhook source", detail: $"No source named '{source}' is configured.");
            case ReceiveOutcome.Unauthorized unauthorized:
                return TypedResults.Problem(statusCode: 401, title: "Webhook verification failed", detail: unauthorized.Message);
            case ReceiveOutcome.RateLimited limited:
                request.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(limited.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
                return TypedResults.Problem(statusCode: 429, title: "Too many deliveries", detail: "This source's rate limit is exceeded; retry after the Retry-After delay.");
            case ReceiveOutcome.Malformed malformed:
                return TypedResults.Problem(statusCode: 400, title: "Malformed payload", detail: malformed.Message, extensions: new Dictionary<string, object?> { ["errors"] = new Dictionary<string, string[]> { ["body"] = [malformed.Message] } });
            default:
                throw new InvalidOperationException("Unknown receive outcome.");
        }
    }

    /// <summary>Reads at most <paramref name="limit"/> bytes; null when the body is longer (chunked bodies have no Content-Length).</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, long limit, CancellationToken cancellationToken)
    {
        if (request.ContentLength is { } declared)
        {
            // The usual case (the caller refused a declared length over the limit): read straight into a buffer of that
            // size; the server ends the body stream at Content-Length.
            var body = new byte[declared];
            await request.Body.ReadExactlyAsync(body, cancellationToken).ConfigureAwait(false);
            return body;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }
}
