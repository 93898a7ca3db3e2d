using System.Security.Cryptography;
using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>Comparisons whose duration does not depend on where the inputs differ.</summary>
internal static class ConstantTime
{
    public static bool BytesEqual(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right) =>
        CryptographicOperations.FixedTimeEquals(left, right);

    /// <summary>
    /// Compares tokens through their SHA-256 digests: FixedTimeEquals returns early on a length mismatch,
    /// which would reveal the secret's length; digests are always 32 bytes.
    /// </summary>
    public static bool TokensEqual(string presented, string expected)
    {
        Span<byte> left = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> right = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), left);
        SHA256.HashData(Encoding.UTF8.GetBytes(expected), right);
        return CryptographicOperations.FixedTimeEquals(left, right);
    }

    /// <summary>True when the presented token equals any secret; checks all of them so timing does not reveal which.</summary>
    public static bool MatchesAny(string presented, IReadOnlyList<string> secrets)
    {
        var matched = false;
        foreach (var secret in secrets)
        {
            matched |= TokensEqual(presented, secret);
        }

        return matched;
    }
}
