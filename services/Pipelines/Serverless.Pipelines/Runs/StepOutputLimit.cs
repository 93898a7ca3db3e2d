using System.Globalization;
using System.Text;

namespace Serverless.Pipelines.Runs;

/// <summary>
/// The cap on what one attempt may report as outputs. Outputs live in the run record (every read and every
/// transition carries them; on the distributed profile so does the step-result message), so they are bounded like
/// logs are. GitHub Actions caps a job's outputs at 1 MB; the default here is 64 KiB a step.
/// </summary>
public static class StepOutputLimit
{
    public const int DefaultMaxBytes = 64 * 1024;

    /// <summary>An http step reports the first this many UTF-8 bytes of the response as its <c>body</c> output.</summary>
    public const int HttpBodyBytes = 4 * 1024;

    /// <summary>
    /// The most bytes of a response an http step reads: enough for <see cref="HttpBodyBytes"/> of UTF-8 in any charset
    /// (a character takes at most 4 bytes in UTF-32 and at least 1 in UTF-8) after a byte order mark, so the
    /// <c>body</c> output is the same as if the whole answer had been read. The rest is never read.
    /// </summary>
    public const int HttpBodyReadBytes = (4 * HttpBodyBytes) + 4;

    /// <summary>The smallest cap that can be configured: an http step's outputs (its truncated body and status) always fit.</summary>
    public const int MinimumMaxBytes = 2 * HttpBodyBytes;

    /// <summary>The size of outputs as counted against the cap: the UTF-8 bytes of every name and value.</summary>
    public static long Size(IReadOnlyDictionary<string, string> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return outputs.Sum(o => (long)Encoding.UTF8.GetByteCount(o.Key) + Encoding.UTF8.GetByteCount(o.Value));
    }

    /// <summary>Why the outputs are refused, or null when they are within <paramref name="maxBytes"/>.</summary>
    public static string? Problem(IReadOnlyDictionary<string, string> outputs, long maxBytes)
    {
        var size = Size(outputs);
        return size <= maxBytes ? null : Exceeded(size, maxBytes, "the outputs are");
    }

    /// <summary>Why a script's <c>$PIPELINE_OUTPUT</c> file is refused unread, or null when it is within the cap.</summary>
    public static string? FileProblem(long fileBytes, long maxBytes) =>
        fileBytes <= maxBytes ? null : Exceeded(fileBytes, maxBytes, "$PIPELINE_OUTPUT holds");

    /// <summary>The <c>body</c> output of an http step: the response's first <see cref="HttpBodyBytes"/> UTF-8 bytes, cut at a character boundary.</summary>
    public static string HttpBody(string body) => Utf8Text.Prefix(body, HttpBodyBytes);

    /// <summary>
    /// The <c>body</c> output from the first bytes of a response (at most <see cref="HttpBodyReadBytes"/> are needed),
    /// decoded as HttpClient decodes a whole answer: by the <paramref name="charset"/> of its content type, else by its
    /// byte order mark, else as UTF-8 (an unknown charset reads as UTF-8). A character cut off at the end of
    /// <paramref name="head"/> lies past the first <see cref="HttpBodyBytes"/> and is dropped with the rest.
    /// </summary>
    public static string HttpBody(ReadOnlySpan<byte> head, string? charset)
    {
        var bytes = head.Length > HttpBodyReadBytes ? head[..HttpBodyReadBytes] : head;
        using var reader = new StreamReader(new MemoryStream(bytes.ToArray(), writable: false), EncodingOf(charset) ?? Encoding.UTF8, detectEncodingFromByteOrderMarks: true);
        return HttpBody(reader.ReadToEnd());
    }

    private static Encoding? EncodingOf(string? charset)
    {
        var name = charset?.Trim().Trim('"');
        if (string.IsNullOrEmpty(name))
        {
            return null;
        }

        try
        {
            return Encoding.GetEncoding(name);
        }
        catch (ArgumentException)
        {
            return null;
        }
    }

    private static string Exceeded(long size, long maxBytes, string what) =>
        string.Create(CultureInfo.InvariantCulture, $"{what} {size} bytes, over the step output cap of {maxBytes} bytes (Pipelines:Runner:MaxOutputBytes); pass large data through files or an artifact store, not outputs");
}
