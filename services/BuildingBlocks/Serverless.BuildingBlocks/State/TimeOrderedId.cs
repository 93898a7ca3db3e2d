using System.Globalization;
using System.Security.Cryptography;

namespace Serverless.BuildingBlocks.State;

/// <summary>
/// 32 lower-case hex digits that sort by creation time: 48 bits of milliseconds, a 16-bit counter that keeps
/// ids made in the same millisecond by this process in order (Guid v7 does not), and 64 random bits.
/// Used where "listing by key" must mean "oldest first" (receipts, dead letters).
/// </summary>
public static class TimeOrderedId
{
    private static readonly Lock Gate = new();
    private static long _lastMs;
    private static int _counter;

    public static string Next(DateTimeOffset now)
    {
        long ms;
        int counter;
        lock (Gate)
        {
            ms = Math.Max(now.ToUnixTimeMilliseconds(), _lastMs);
            if (ms == _lastMs)
            {
                if (++_counter > 0xFFFF)
                {
                    ms++;
                    _counter = 0;
                }
            }
            else
            {
                _counter = 0;
            }

            _lastMs = ms;
            counter = _counter;
        }

        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        return string.Create(CultureInfo.InvariantCulture, $"{ms & 0xFFFF_FFFF_FFFF:x12}{counter:x4}{Convert.ToHexStringLower(random)}");
    }

    /// <summary>
    /// A well-formed id fixed by <paramref name="at"/> and <paramref name="sequence"/> rather than random: the same
    /// inputs give the same id (counter 0, the sequence as the last 64 bits), so writing it twice is idempotent.
    /// </summary>
    public static string For(DateTimeOffset at, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"{at.ToUnixTimeMilliseconds() & 0xFFFF_FFFF_FFFF:x12}0000{sequence:x16}");

    public static bool IsWellFormed(string? id) => id is { Length: 32 } && id.All(char.IsAsciiHexDigitLower);
}
