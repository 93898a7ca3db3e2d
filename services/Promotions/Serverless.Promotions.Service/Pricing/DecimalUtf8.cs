using System.Buffers.Text;
using System.Text.Json;

namespace Serverless.Promotions.Service.Pricing;

/// <summary>
/// Formats a decimal as <see cref="Utf8Formatter"/> does by default (and so as <see cref="Utf8JsonWriter"/> writes it):
/// every digit the value's scale holds, no exponent. A value whose integer fits 63 bits — every amount of money — is
/// written from that integer directly, right to left into its place; anything else (and negative zero) goes to
/// <see cref="Utf8Formatter"/>.
/// </summary>
internal static class DecimalUtf8
{
    /// <summary>Enough for any decimal: a sign, 29 digits and a point, or "0." and 28 digits after a sign.</summary>
    public const int MaxLength = 32;

    /// <summary>Writes <paramref name="value"/> to <paramref name="destination"/> (at least <see cref="MaxLength"/> bytes) and answers the length.</summary>
    public static int Format(decimal value, Span<byte> destination)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var negative = bits[3] < 0;
        var scale = (bits[3] >> 16) & 0xFF;
        var integer = ((ulong)(uint)bits[1] << 32) | (uint)bits[0];
        if (bits[2] != 0 || integer > long.MaxValue || (negative && integer == 0))
        {
            return Utf8Formatter.TryFormat(value, destination, out var formatted)
                ? formatted
                : throw new ArgumentException("The destination is too small for a decimal.", nameof(destination));
        }

        var digits = CountDigits(integer);
        var length = (negative ? 1 : 0) + Math.Max(1, digits - scale) + (scale > 0 ? scale + 1 : 0);
        var position = length;
        for (var i = 0; i < scale; i++)
        {
            var next = integer / 10;
            destination[--position] = (byte)('0' + (int)(integer - (next * 10)));
            integer = next;
        }

        if (scale > 0)
        {
            destination[--position] = (byte)'.';
        }

        do
        {
            var next = integer / 10;
            destination[--position] = (byte)('0' + (int)(integer - (next * 10)));
            integer = next;
        }
        while (integer != 0);

        if (negative)
        {
            destination[--position] = (byte)'-';
        }

        return length;
    }

    private static int CountDigits(ulong value)
    {
        var digits = 1;
        while (value >= 10)
        {
            value /= 10;
            digits++;
        }

        return digits;
    }
}
