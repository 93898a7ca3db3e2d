namespace Serverless.Webhooks.Inbound;

/// <summary>Checks that a delivery came from the configured sender. Pure: no I/O, the clock is a parameter.</summary>
public interface IWebhookVerifier
{
    /// <param name="headers">Request headers; names are matched case-insensitively whatever the dictionary's comparer.</param>
    /// <param name="body">The raw body bytes exactly as received, before any parsing or re-encoding.</param>
    /// <param name="now">The current time, for timestamp tolerance.</param>
    VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now);
}
