using System.Security.Cryptography;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Delivery id for senders that send none (Alertmanager; GitHub/GitLab/generic when the header is absent):
/// "sha256:" + lowercase hex SHA-256 of the raw body. A retry of the same request gets the same id, so the
/// receiver deduplicates it; two deliveries with byte-identical bodies are treated as one delivery as well — which
/// is why such ids are deduplicated only for a short window (see <see cref="IsDerived"/>): long enough to drop a
/// sender's retries, short enough to let through a deliberate repeat (Alertmanager's <c>repeat_interval</c> re-sends
/// a still-firing group with an identical body).
/// </summary>
public static class BodyDigest
{
    public const string Prefix = "sha256:";

    public static string DeliveryId(ReadOnlySpan<byte> body) => Prefix + Convert.ToHexStringLower(SHA256.HashData(body));

    /// <summary>True when the delivery id was derived from the body rather than given by the sender.</summary>
    public static bool IsDerived(string deliveryId) => deliveryId is not null && deliveryId.StartsWith(Prefix, StringComparison.Ordinal);
}
