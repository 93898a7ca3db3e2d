using System.Security.Cryptography;

namespace Serverless.Webhooks.Outbound;

/// <summary>
/// A Standard Webhooks signing secret: <c>whsec_</c> followed by the base64 of the HMAC key.
/// <see cref="ToString"/> never shows the key, so a secret that reaches a log or an exception message leaks nothing.
/// </summary>
public sealed class WebhookSecret
{
    public const string Prefix = "whsec_";

    // The spec recommends keys of 24 to 64 bytes; shorter keys make HMAC guessable, longer ones add nothing.
    private const int MinimumKeyBytes = 24;
    private const int MaximumKeyBytes = 64;

    private readonly byte[] _key;

    private WebhookSecret(byte[] key) => _key = key;

    /// <summary>The HMAC key bytes (a copy, so callers cannot alter the secret).</summary>
    public byte[] KeyBytes() => (byte[])_key.Clone();

    internal ReadOnlySpan<byte> Key => _key;

    /// <summary>The <c>whsec_...</c> text, to store or to show the endpoint owner once. Deliberately not <see cref="ToString"/>.</summary>
    public string Reveal() => Prefix + Convert.ToBase64String(_key);

    public override string ToString() => Prefix + "***";

    /// <summary>A new secret of <paramref name="keyBytes"/> (24 to 32) bytes from the OS CSPRNG.</summary>
    public static WebhookSecret Generate(int keyBytes = 32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(keyBytes, MinimumKeyBytes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keyBytes, 32);
        return new WebhookSecret(RandomNumberGenerator.GetBytes(keyBytes));
    }

    /// <summary>Parses <c>whsec_&lt;base64&gt;</c>. Error messages describe the shape only, never the text given.</summary>
    public static WebhookSecret Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParse(text, out var secret, out var error) ? secret : throw new FormatException(error);
    }

    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WebhookSecret? secret, out string error)
    {
        secret = null;
        if (text is null || !text.StartsWith(Prefix, StringComparison.Ordinal))
        {
            error = $"A webhook secret must start with '{Prefix}'.";
            return false;
        }

        var encoded = text.AsSpan(Prefix.Length);
        var buffer = new byte[(encoded.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written))
        {
            error = $"The part after '{Prefix}' must be base64.";
            return false;
        }

        if (written is < MinimumKeyBytes or > MaximumKeyBytes)
        {
            error = $"A webhook secret key must be {MinimumKeyBytes} to {MaximumKeyBytes} bytes.";
            return false;
        }

        secret = new WebhookSecret(buffer.AsSpan(0, written).ToArray());
        error = string.Empty;
        return true;
    }
}
