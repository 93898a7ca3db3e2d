using System.Security.Cryptography;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Delivery id for senders that send none (Alertmanager; GitHub/GitLab/generic when the header is absent):
/// "sha256:" + lowercase hex SHA-256 of the raw body. A retry of the same request gets the same id, so the
/// receiver deduplicates it; two deliveries with byte-identical bodies are treated as one delivery as well.
/// </summary>
public static class BodyDigest
{
    public static string DeliveryId(ReadOnlySpan<byte> body) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
}
