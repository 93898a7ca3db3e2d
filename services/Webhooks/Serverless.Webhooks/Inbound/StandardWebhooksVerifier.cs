using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Standard Webhooks v1 (standardwebhooks.com): webhook-signature holds space-separated "v1,{base64}" entries
/// over "{webhook-id}.{webhook-timestamp}.{body}". Any entry matching any configured key passes, which lets
/// either side rotate secrets without downtime.
/// </summary>
public sealed class StandardWebhooksVerifier : IWebhookVerifier
{
    private const string IdHeader = "webhook-id";
    private const string TimestampHeader = "webhook-timestamp";
    private const string SignatureHeader = "webhook-signature";
    private static readonly byte[] Dot = "."u8.ToArray();
    private readonly byte[][] _keys;
    private readonly TimeSpan _tolerance;

    /// <param name="secrets">"whsec_" + base64 key each.</param>
    public StandardWebhooksVerifier(IReadOnlyList<string> secrets, TimeSpan? tolerance = null)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        _keys = [.. secrets.Select(s => StandardWebhookSecret.TryDecode(s, out var key)
            ? key
            : throw new ArgumentException("a secret is not 'whsec_' followed by base64", nameof(secrets)))];
        _tolerance = tolerance ?? WebhookSourceOptions.DefaultTolerance;
    }

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var signatureHeader = HeaderLookup.Find(headers, SignatureHeader);
        if (signatureHeader is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingSignature, $"{SignatureHeader} header is missing");
        }

        var id = HeaderLookup.Find(headers, IdHeader);
        if (string.IsNullOrEmpty(id))
        {
            return VerificationResult.Rejected(VerificationFailure.MissingHeader, $"{IdHeader} header is missing");
        }

        var timestamp = HeaderLookup.Find(headers, TimestampHeader);
        if (timestamp is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingHeader, $"{TimestampHeader} header is missing");
        }

        if (SignedTimestamp.Check(TimestampHeader, timestamp, now, _tolerance) is { } rejected)
        {
            return rejected;
        }

        var presented = ParseSignatures(signatureHeader);
        if (presented.Count == 0)
        {
            return VerificationResult.Rejected(
                VerificationFailure.MalformedHeader, $"{SignatureHeader} has no 'v1,<base64>' entry");
        }

        var idBytes = Encoding.UTF8.GetBytes(id);
        var timestampBytes = Encoding.UTF8.GetBytes(timestamp);
        var matched = false;
        foreach (var key in _keys)
        {
            using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            hmac.AppendData(idBytes);
            hmac.AppendData(Dot);
            hmac.AppendData(timestampBytes);
            hmac.AppendData(Dot);
            hmac.AppendData(body);
            var expected = hmac.GetHashAndReset();
            foreach (var signature in presented)
            {
                matched |= ConstantTime.BytesEqual(signature, expected);
            }
        }

        return matched
            ? VerificationResult.Verified(id, StandardPayloadType.Read(body))
            : VerificationResult.Rejected(VerificationFailure.BadSignature, $"no {SignatureHeader} entry matches any configured secret");
    }

    /// <summary>Keeps decodable v1 entries; other versions (e.g. v1a asymmetric) and undecodable entries are skipped.</summary>
    private static List<byte[]> ParseSignatures(string header)
    {
        var signatures = new List<byte[]>();
        foreach (var entry in header.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!entry.StartsWith("v1,", StringComparison.Ordinal))
            {
                continue;
            }

            var encoded = entry.AsSpan(3);
            var buffer = new byte[encoded.Length];
            if (Convert.TryFromBase64Chars(encoded, buffer, out var written) && written > 0)
            {
                signatures.Add(buffer[..written]);
            }
        }

        return signatures;
    }
}
