using System.Text;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// Renders a URL template (an http step's <c>url</c>; a deploy target's <c>deployUrl</c> and <c>healthUrl</c>, a
/// blue-green <c>healthCheck</c>) so that a substituted value cannot change where the request goes:
/// <list type="bullet">
/// <item>A value substituted while the URL rendered so far is still within its scheme and authority (no <c>/</c>,
/// <c>?</c> or <c>#</c> yet after <c>scheme://</c>, see <see cref="InOrigin"/>) is inserted as it is: a parameter may
/// give the whole URL, a base URL (<c>${{ parameters.baseUrl }}/items</c>, whose own path is kept), the host or the
/// port.</item>
/// <item>Every later value, in the path, query or fragment, is percent-encoded as a whole, as
/// <see cref="Uri.EscapeDataString"/> does (everything but ASCII letters, digits and <c>-._~</c>; other characters as
/// their UTF-8 bytes), so it stays inside its path segment or query value: <c>../admin?x=1</c> is sent as
/// <c>..%2Fadmin%3Fx%3D1</c>.</item>
/// <item>A value that makes a whole path segment <c>.</c> or <c>..</c> (alone or with the literal text next to it)
/// is refused with an <see cref="ExpressionException"/>: URL parsers remove such segments, percent-encoded or not,
/// and climb the path.</item>
/// </list>
/// </summary>
public static class UrlTemplate
{
    public static string Render(string template, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(template);
        return Render(TemplateString.Parse(template), context);
    }

    public static string Render(TemplateString template, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(template);
        ArgumentNullException.ThrowIfNull(context);
        var url = new StringBuilder();
        var encoded = new List<(int Start, int End)>();
        foreach (var part in template.Parts)
        {
            if (part is not Expr hole)
            {
                url.Append((string)part);
                continue;
            }

            var value = ExpressionEvaluator.ToText(ExpressionEvaluator.Evaluate(hole, context));
            if (InOrigin(url.ToString()))
            {
                url.Append(value);
                continue;
            }

            var start = url.Length;
            url.Append(Uri.EscapeDataString(value));
            encoded.Add((start, url.Length));
        }

        var text = url.ToString();
        RefuseDotSegments(text, encoded);
        return text;
    }

    /// <summary>
    /// Whether <paramref name="prefix"/>, the beginning of a URL, is still within its scheme and authority: it is (the
    /// beginning of) <c>scheme</c>, <c>scheme:</c>, <c>scheme:/</c> or <c>scheme://authority</c>, with no <c>/</c>,
    /// <c>?</c> or <c>#</c> after the authority began (the components of RFC 3986, appendix B). The empty prefix is.
    /// </summary>
    public static bool InOrigin(ReadOnlySpan<char> prefix)
    {
        var first = prefix.IndexOfAny(":/?#");
        if (first < 0)
        {
            return true; // all scheme so far
        }

        if (prefix[first] != ':')
        {
            return false; // a path, query or fragment with no scheme before it
        }

        var rest = prefix[(first + 1)..];
        if (rest.IsEmpty || rest.SequenceEqual("/"))
        {
            return true;
        }

        return rest.StartsWith("//", StringComparison.Ordinal) && rest[2..].IndexOfAny("/?#") < 0;
    }

    private static void RefuseDotSegments(string url, List<(int Start, int End)> encoded)
    {
        if (encoded.Count == 0)
        {
            return;
        }

        var (start, end) = PathOf(url);
        var segmentStart = start;
        for (var i = start; i <= end; i++)
        {
            if (i < end && url[i] != '/')
            {
                continue;
            }

            // A value touches this segment [segmentStart, i) if it lies in it (an empty value between two dots counts).
            var (from, to) = (segmentStart, i);
            if (encoded.Any(v => v.Start <= to && v.End >= from))
            {
                var segment = url[from..to].Replace("%2E", ".", StringComparison.OrdinalIgnoreCase);
                if (segment is "." or "..")
                {
                    throw new ExpressionException($"a value substituted into the URL makes the path segment '{url[from..to]}', which would climb the path; values may not form '.' or '..' segments");
                }
            }

            segmentStart = i + 1;
        }
    }

    /// <summary>Where the path of <paramref name="url"/> starts and ends (before its query or fragment).</summary>
    private static (int Start, int End) PathOf(string url)
    {
        var span = url.AsSpan();
        var first = span.IndexOfAny(":/?#");
        var start = first >= 0 && span[first] == ':' ? first + 1 : 0;
        if (span[start..].StartsWith("//", StringComparison.Ordinal))
        {
            var authorityEnd = span[(start + 2)..].IndexOfAny("/?#");
            start = authorityEnd < 0 ? span.Length : start + 2 + authorityEnd;
        }

        var end = span[start..].IndexOfAny("?#");
        return (start, end < 0 ? span.Length : start + end);
    }
}
