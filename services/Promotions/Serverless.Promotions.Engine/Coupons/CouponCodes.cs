using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Promotions.Engine.Coupons;

/// <summary>
/// Generated coupon codes, verifiable without storing them. The code for serial n of a batch is
/// <c>PREFIX-XXXXX-XXXXX-XXXXX</c>: the 15 characters are Crockford base32 of 75 bits, the serial (32 bits, big-endian)
/// followed by the first 43 bits of HMAC-SHA256(batch key, UTF-8 "promotionId\nbatchId\nserial") (serial in decimal).
/// Verifying decodes the serial, checks it is below the batch's count and recomputes the MAC (compared in constant time).
/// Codes are read forgivingly: case does not matter, dashes and spaces are ignored, and in the 15 generated characters
/// O reads as 0 and I / L as 1 (Crockford's aliases; U is not a code character).
/// </summary>
public static class CouponCodes
{
    public const int MaxPrefixLength = 12;

    public const int MaxCount = 10_000_000;

    /// <summary>The generated characters after the prefix (dashes not counted).</summary>
    public const int BodyLength = 15;

    /// <summary>Shortest batch key accepted (the service derives 32-byte keys).</summary>
    public const int MinKeyBytes = 16;

    /// <summary>MAC bits in a code: 75 bits of base32 less the 32-bit serial.</summary>
    internal const int MacBits = (BodyLength * 5) - 32;

    internal const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    private const int MaxCompactLength = MaxPrefixLength + BodyLength;

    /// <summary>1–12 upper-case ASCII letters or digits.</summary>
    public static bool IsValidPrefix(string? prefix)
    {
        if (prefix is not { Length: >= 1 and <= MaxPrefixLength })
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!char.IsAsciiLetterUpper(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>The code for <paramref name="serial"/> (0 ≤ serial &lt; Count), e.g. <c>XMAS-0000A-8M2QF-KX3TB</c>.</summary>
    public static string Generate(CouponBatch batch, int serial) => new CouponBatchCodes(batch).Generate(serial);

    /// <summary>True when <paramref name="code"/> (in any accepted spelling) is one of the batch's codes and the batch is not revoked.</summary>
    public static bool TryVerify(string code, CouponBatch batch) => TryVerify(code, batch, out _);

    /// <inheritdoc cref="TryVerify(string, CouponBatch)"/>
    public static bool TryVerify(string code, CouponBatch batch, out int serial) => new CouponBatchCodes(batch).TryVerify(code, out serial);

    /// <summary>
    /// The canonical spelling of something shaped like a generated code — upper case, aliases resolved, grouped as
    /// <c>PREFIX-XXXXX-XXXXX-XXXXX</c> — or null when it cannot be one (length, characters). Says nothing about validity.
    /// </summary>
    public static string? Normalise(string? code)
    {
        Span<char> prefix = stackalloc char[MaxPrefixLength];
        if (code is null || !TryParse(code, prefix, out var prefixLength, out var body))
        {
            return null;
        }

        Span<char> text = stackalloc char[prefixLength + 18];
        Format(prefix[..prefixLength], body, text);
        return new string(text);
    }

    /// <summary>
    /// Splits a presented code into its prefix (upper case, into <paramref name="prefix"/>) and the 75 bits its last
    /// 15 characters encode. False when it cannot be a generated code. Allocates nothing.
    /// </summary>
    internal static bool TryParse(ReadOnlySpan<char> code, Span<char> prefix, out int prefixLength, out UInt128 body)
    {
        prefixLength = 0;
        body = 0;
        Span<char> compact = stackalloc char[MaxCompactLength];
        var length = 0;
        foreach (var raw in code)
        {
            if (raw == '-' || char.IsWhiteSpace(raw))
            {
                continue;
            }

            if (!char.IsAsciiLetterOrDigit(raw) || length == MaxCompactLength)
            {
                return false;
            }

            compact[length++] = char.ToUpperInvariant(raw);
        }

        if (length <= BodyLength)
        {
            return false;
        }

        prefixLength = length - BodyLength;
        compact[..prefixLength].CopyTo(prefix);
        foreach (var c in compact.Slice(prefixLength, BodyLength))
        {
            var value = Decode(c);
            if (value < 0)
            {
                return false;
            }

            body = (body << 5) | (uint)value;
        }

        return true;
    }

    /// <summary>Writes <c>PREFIX-XXXXX-XXXXX-XXXXX</c> (prefix length + 18 characters).</summary>
    internal static void Format(ReadOnlySpan<char> prefix, UInt128 body, Span<char> destination)
    {
        prefix.CopyTo(destination);
        var at = prefix.Length;
        for (var i = 0; i < BodyLength; i++)
        {
            if (i % 5 == 0)
            {
                destination[at++] = '-';
            }

            destination[at++] = Alphabet[(int)((body >> (5 * (BodyLength - 1 - i))) & 31)];
        }
    }

    private static int Decode(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        'O' => 0,
        'I' or 'L' => 1,
        'U' => -1,
        >= 'A' and <= 'Z' => Alphabet.IndexOf(c, StringComparison.Ordinal),
        _ => -1,
    };
}

/// <summary>
/// One batch prepared for making and checking its codes: key decoded, MAC input prefix encoded once. Immutable and
/// thread-safe; making or checking a code allocates nothing (except the string <see cref="Generate"/> returns).
/// </summary>
public sealed class CouponBatchCodes
{
    private const ulong MacMask = (1UL << CouponCodes.MacBits) - 1;

    private readonly byte[] _key;
    private readonly byte[] _macInput;

    public CouponBatchCodes(CouponBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (!CouponCodes.IsValidPrefix(batch.Prefix))
        {
            throw new ArgumentException("The batch's prefix must be 1–12 upper-case letters or digits.", nameof(batch));
        }

        if (batch.Count is < 1 or > CouponCodes.MaxCount)
        {
            throw new ArgumentException($"The batch's count must be between 1 and {CouponCodes.MaxCount}.", nameof(batch));
        }

        _key = TryDecodeKey(batch.Key) ?? throw new ArgumentException($"The batch's key must be base64 of at least {CouponCodes.MinKeyBytes} bytes.", nameof(batch));
        _macInput = Encoding.UTF8.GetBytes($"{batch.PromotionId}\n{batch.Id}\n");
        Batch = batch;
    }

    public CouponBatch Batch { get; }

    /// <summary>Characters in each of the batch's codes (prefix + 18).</summary>
    public int CodeLength => Batch.Prefix.Length + 18;

    public string Generate(int serial) =>
        string.Create(CodeLength, (this, serial), static (destination, state) => state.Item1.Write(state.serial, destination));

    /// <summary>Writes the code for <paramref name="serial"/> into the first <see cref="CodeLength"/> characters.</summary>
    public void Write(int serial, Span<char> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(serial);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(serial, Batch.Count);
        CouponCodes.Format(Batch.Prefix, ((UInt128)(uint)serial << CouponCodes.MacBits) | Mac((uint)serial), destination);
    }

    /// <summary>The code as ASCII bytes (for writing many codes to a file); returns <see cref="CodeLength"/>.</summary>
    public int WriteAscii(int serial, Span<byte> destination)
    {
        Span<char> code = stackalloc char[CodeLength];
        Write(serial, code);
        Ascii.FromUtf16(code, destination, out var written);
        return written;
    }

    /// <summary>True when <paramref name="code"/> is one of this batch's codes, revoked or not (the lookup says which).</summary>
    public bool TryMatch(string code, out int serial)
    {
        ArgumentNullException.ThrowIfNull(code);
        Span<char> prefix = stackalloc char[CouponCodes.MaxPrefixLength];
        serial = -1;
        return CouponCodes.TryParse(code, prefix, out var prefixLength, out var body) && Matches(prefix[..prefixLength], body, out serial);
    }

    /// <summary>True when <paramref name="code"/> is one of this batch's codes and the batch is not revoked.</summary>
    public bool TryVerify(string code, out int serial) => TryMatch(code, out serial) && !Batch.Revoked;

    /// <summary>A parsed code against this batch: same prefix, serial in range, MAC as recomputed (constant-time comparison).</summary>
    internal bool Matches(ReadOnlySpan<char> prefix, UInt128 body, out int serial)
    {
        serial = -1;
        var decoded = (ulong)(body >> CouponCodes.MacBits);
        if (!prefix.SequenceEqual(Batch.Prefix) || decoded >= (ulong)Batch.Count)
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[8];
        Span<byte> expected = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(presented, (ulong)body & MacMask);
        BinaryPrimitives.WriteUInt64BigEndian(expected, Mac((uint)decoded));
        if (!CryptographicOperations.FixedTimeEquals(presented, expected))
        {
            return false;
        }

        serial = (int)decoded;
        return true;
    }

    /// <summary>Base64 of at least <see cref="CouponCodes.MinKeyBytes"/> bytes, decoded; null otherwise.</summary>
    internal static byte[]? TryDecodeKey(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return null;
        }

        var bytes = new byte[(key.Length * 3 / 4) + 3];
        return Convert.TryFromBase64String(key, bytes, out var written) && written >= CouponCodes.MinKeyBytes ? bytes[..written] : null;
    }

    /// <summary>The first 43 bits of HMAC-SHA256(key, "promotionId\nbatchId\nserial").</summary>
    private ulong Mac(uint serial)
    {
        Span<byte> input = _macInput.Length <= 480 ? stackalloc byte[_macInput.Length + 10] : new byte[_macInput.Length + 10];
        _macInput.CopyTo(input);
        serial.TryFormat(input[_macInput.Length..], out var digits, default, CultureInfo.InvariantCulture);
        Span<byte> hash = stackalloc byte[HMACSHA256.HashSizeInBytes];
        HMACSHA256.HashData(_key, input[..(_macInput.Length + digits)], hash);
        return BinaryPrimitives.ReadUInt64BigEndian(hash) >> (64 - CouponCodes.MacBits);
    }
}
