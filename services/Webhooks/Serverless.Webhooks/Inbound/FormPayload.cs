using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// GitHub's other content type (and Slack's): <c>application/x-www-form-urlencoded</c> with the JSON document in a
/// <c>payload</c> field. The signature covers the raw form bytes; normalising reads the document inside.
/// </summary>
public static class FormPayload
{
    private const string FormMediaType = "application/x-www-form-urlencoded";

    /// <summary>The <c>payload</c> field's JSON bytes when <paramref name="contentType"/> is a form that has one; otherwise null.</summary>
    public static byte[]? JsonOf(string? contentType, ReadOnlySpan<byte> body)
    {
        if (contentType is null || !contentType.TrimStart().StartsWith(FormMediaType, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        foreach (var field in Encoding.UTF8.GetString(body).Split('&'))
        {
            var equals = field.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && Decode(field[..equals]) == "payload")
            {
                return Encoding.UTF8.GetBytes(Decode(field[(equals + 1)..]));
            }
        }

        return null;
    }

    /// <summary>Form decoding: '+' is a space, then percent escapes (a literal '+' arrives as %2B).</summary>
    private static string Decode(string value) => Uri.UnescapeDataString(value.Replace('+', ' '));
}
