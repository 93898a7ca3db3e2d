namespace Serverless.Webhooks.Inbound;

/// <summary>Decodes Standard Webhooks secrets: the HMAC key is the base64 text after the "whsec_" prefix.</summary>
internal static class StandardWebhookSecret
{
    private const string Prefix = "whsec_";

    public static bool TryDecode(string secret, out byte[] key)
    {
        key = [];
        if (!secret.StartsWith(Prefix, StringComparison.Ordinal) || secret.Length == Prefix.Length)
        {
            return false;
        }

        var encoded = secret.AsSpan(Prefix.Length);
        var buffer = new byte[encoded.Length];
        if (!Convert.TryFromBase64Chars(encoded, buffer, out var written) || written == 0)
        {
            return false;
        }

        key = buffer[..written];
        return true;
    }
}
