using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Outbound;

/// <summary>The three Standard Webhooks headers of one delivery attempt.</summary>
public sealed record WebhookSignatureHeaders(string Id, string Timestamp, string Signature)
{
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";
}

/// <summary>
/// Signs deliveries per Standard Webhooks: <c>v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))</c>,
/// one signature per active secret, space-separated.
/// </summary>
public static class WebhookSigner
{
    /// <param name="messageId">The event id: the same on every retry so receivers can deduplicate.</param>
    /// <param name="attemptTime">When this attempt is sent; receivers reject old timestamps, so it is per attempt.</param>
    public static WebhookSignatureHeaders Sign(string messageId, DateTimeOffset attemptTime, ReadOnlySpan<byte> body, IReadOnlyList<WebhookSecret> secrets)
    {
        ArgumentException.ThrowIfNullOrEmpty(messageId);
        ArgumentNullException.ThrowIfNull(secrets);
        if (secrets.Count == 0)
        {
            throw new ArgumentException("At least one secret is needed to sign a delivery.", nameof(secrets));
        }

        // A '.' or whitespace in the id would make the signed content or the header ambiguous.
        foreach (var c in messageId)
        {
            if (c == '.' || char.IsWhiteSpace(c) || char.IsControl(c))
            {
                throw new ArgumentException("A message id must not contain '.', whitespace or control characters.", nameof(messageId));
            }
        }

        var timestamp = attemptTime.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var prefix = Encoding.UTF8.GetBytes($"{messageId}.{timestamp}.");
        var content = new byte[prefix.Length + body.Length];
        prefix.CopyTo(content, 0);
        body.CopyTo(content.AsSpan(prefix.Length));

        var signatures = new StringBuilder();
        foreach (var secret in secrets)
        {
            ArgumentNullException.ThrowIfNull(secret, nameof(secrets));
            if (signatures.Length > 0)
            {
                signatures.Append(' ');
            }

            signatures.Append("v1,").Append(Convert.ToBase64String(HMACSHA256.HashData(secret.Key, content)));
        }

        return new WebhookSignatureHeaders(messageId, timestamp, signatures.ToString());
    }

    /// <summary>Signs a UTF-8 text body.</summary>
    public static WebhookSignatureHeaders Sign(string messageId, DateTimeOffset attemptTime, string body, IReadOnlyList<WebhookSecret> secrets)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Sign(messageId, attemptTime, Encoding.UTF8.GetBytes(body), secrets);
    }
}
