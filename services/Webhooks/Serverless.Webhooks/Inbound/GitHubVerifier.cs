using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>GitHub: X-Hub-Signature-256 = "sha256=" + hex HMAC-SHA256(secret, raw body).</summary>
public sealed class GitHubVerifier : IWebhookVerifier
{
    private const string SignatureHeader = "X-Hub-Signature-256";
    private const string Prefix = "sha256=";
    private readonly byte[][] _keys;

    public GitHubVerifier(IReadOnlyList<string> secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = [.. secrets.Select(Encoding.UTF8.GetBytes)];
    }

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var header = HeaderLookup.Find(headers, SignatureHeader);
        if (header is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingSignature, $"{SignatureHeader} header is missing");
        }

        var hex = header.AsSpan().Trim();
        if (!hex.StartsWith(Prefix, StringComparison.Ordinal) || hex.Length != Prefix.Length + (2 * HMACSHA256.HashSizeInBytes))
        {
            return Malformed();
        }

        Span<byte> presented = stackalloc byte[HMACSHA256.HashSizeInBytes];
        if (Convert.FromHexString(hex[Prefix.Length..], presented, out _, out var written) != System.Buffers.OperationStatus.Done
            || written != presented.Length)
        {
            return Malformed();
        }

        var matched = false;
        Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
        foreach (var key in _keys)
        {
            HMACSHA256.HashData(key, body, expected);
            matched |= ConstantTime.BytesEqual(presented, expected);
        }

        if (!matched)
        {
            return VerificationResult.Rejected(VerificationFailure.BadSignature, $"{SignatureHeader} does not match any configured secret");
        }

        return VerificationResult.Verified(
            HeaderLookup.Find(headers, "X-GitHub-Delivery") ?? BodyDigest.DeliveryId(body),
            HeaderLookup.Find(headers, "X-GitHub-Event"));
    }

    private static VerificationResult Malformed() =>
        VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{SignatureHeader} must be '{Prefix}' followed by 64 hex digits");
}
