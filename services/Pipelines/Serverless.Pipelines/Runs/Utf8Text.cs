using System.Text;

namespace Serverless.Pipelines.Runs;

/// <summary>Cuts text by its UTF-8 size, never inside a character (a surrogate pair stays whole).</summary>
public static class Utf8Text
{
    /// <summary>The longest prefix of <paramref name="text"/> whose UTF-8 encoding is at most <paramref name="maxBytes"/> bytes.</summary>
    public static string Prefix(string text, long maxBytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (maxBytes <= 0)
        {
            return string.Empty;
        }

        if (text.Length <= maxBytes / 3 || Encoding.UTF8.GetByteCount(text) <= maxBytes)
        {
            return text;
        }

        long bytes = 0;
        var i = 0;
        while (i < text.Length)
        {
            var pair = char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]);
            var width = pair ? 4 : text[i] switch
            {
                < '\u0080' => 1,
                < '\u0800' => 2,
                _ => 3, // a lone surrogate is encoded as U+FFFD, 3 bytes
            };
            if (bytes + width > maxBytes)
            {
                break;
            }

            bytes += width;
            i += pair ? 2 : 1;
        }

        return text[..i];
    }

    /// <summary>
    /// How many of the first <paramref name="length"/> chars of <paramref name="text"/> can be taken without ending
    /// between the halves of a surrogate pair.
    /// </summary>
    public static int SafeLength(StringBuilder text, int length)
    {
        ArgumentNullException.ThrowIfNull(text);
        return length > 1 && length < text.Length && char.IsHighSurrogate(text[length - 1]) && char.IsLowSurrogate(text[length]) ? length - 1 : length;
    }
}
