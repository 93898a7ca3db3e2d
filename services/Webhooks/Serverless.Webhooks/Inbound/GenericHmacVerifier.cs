using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// HMAC for senders with their own conventions: configurable header, SHA-256 or SHA-512, hex or base64,
/// optional prefix, and optionally a timestamp header, in which case the signed content is "{timestamp}.{body}".
/// </summary>
public sealed class GenericHmacVerifier : IWebhookVerifier
{
    private static readonly byte[] Dot = "."u8.ToArray();
    private readonly byte[][] _keys;
    private readonly string _header;
    private readonly HashAlgorithmName _algorithm;
    private readonly SignatureEncoding _encoding;
    private readonly string _prefix;
    private readonly string? _timestampHeader;
    private readonly TimeSpan _tolerance;
    private readonly string? _idHeader;
    private readonly string? _eventHeader;

    public GenericHmacVerifier(IReadOnlyList<string> secrets, WebhookSourceOptions options)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        ArgumentNullException.ThrowIfNull(options);
        _keys = [.. secrets.Select(Encoding.UTF8.GetBytes)];
        _header = string.IsNullOrWhiteSpace(options.Header)
            ? throw new ArgumentException("options.header is required", nameof(options))
            : options.Header;
        _algorithm = ParseAlgorithm(options.Algorithm ?? "sha256")
            ?? throw new ArgumentException("options.algorithm must be 'sha256' or 'sha512'", nameof(options));
        _encoding = ParseEncoding(options.Encoding ?? "hex")
            ?? throw new ArgumentException("options.encoding must be 'hex' or 'base64'", nameof(options));
        _prefix = options.Prefix ?? string.Empty;
        _timestampHeader = options.TimestampHeader;
        _tolerance = options.Tolerance ?? WebhookSourceOptions.DefaultTolerance;
        _idHeader = options.IdHeader;
        _eventHeader = options.EventHeader;
    }

    internal static HashAlgorithmName? ParseAlgorithm(string name) => name.ToUpperInvariant() switch
    {
        "SHA256" or "SHA-256" => HashAlgorithmName.SHA256,
        "SHA512" or "SHA-512" => HashAlgorithmName.SHA512,
        _ => null,
    };

    internal static SignatureEncoding? ParseEncoding(string name) => name.ToUpperInvariant() switch
    {
        "HEX" => SignatureEncoding.Hex,
        "BASE64" => SignatureEncoding.Base64,
        _ => null,
    };

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var header = HeaderLookup.Find(headers, _header);
        if (header is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingSignature, $"{_header} header is missing");
        }

        var presented = Decode(header.Trim());
        if (presented is null)
        {
            var format = _encoding == SignatureEncoding.Hex ? "hex" : "base64";
            return VerificationResult.Rejected(
                VerificationFailure.MalformedHeader,
                _prefix.Length == 0 ? $"{_header} must be a {format} digest" : $"{_header} must be '{_prefix}' followed by a {format} digest");
        }

        byte[]? timestamp = null;
        if (_timestampHeader is not null)
        {
            var value = HeaderLookup.Find(headers, _timestampHeader);
            if (value is null)
            {
                return VerificationResult.Rejected(VerificationFailure.MissingHeader, $"{_timestampHeader} header is missing");
            }

            if (SignedTimestamp.Check(_timestampHeader, value, now, _tolerance) is { } rejected)
            {
                return rejected;
            }

            timestamp = Encoding.UTF8.GetBytes(value);
        }

        var matched = false;
        foreach (var key in _keys)
        {
            using var hmac = IncrementalHash.CreateHMAC(_algorithm, key);
            if (timestamp is not null)
            {
                hmac.AppendData(timestamp);
                hmac.AppendData(Dot);
            }

            hmac.AppendData(body);
            matched |= ConstantTime.BytesEqual(presented, hmac.GetHashAndReset());
        }

        if (!matched)
        {
            return VerificationResult.Rejected(VerificationFailure.BadSignature, $"{_header} does not match any configured secret");
        }

        return VerificationResult.Verified(
            (_idHeader is null ? null : HeaderLookup.Find(headers, _idHeader)) ?? BodyDigest.DeliveryId(body),
            _eventHeader is null ? null : HeaderLookup.Find(headers, _eventHeader));
    }

    private byte[]? Decode(string header)
    {
        if (!header.StartsWith(_prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var digest = header.AsSpan(_prefix.Length);
        if (digest.IsEmpty)
        {
            return null;
        }

        var buffer = new byte[digest.Length];
        if (_encoding == SignatureEncoding.Hex)
        {
            return digest.Length % 2 == 0
                && Convert.FromHexString(digest, buffer, out _, out var hexWritten) == System.Buffers.OperationStatus.Done
                ? buffer[..hexWritten]
                : null;
        }

        return Convert.TryFromBase64Chars(digest, buffer, out var written) ? buffer[..written] : null;
    }
}
