using System.Text;
using System.Text.RegularExpressions;

namespace Serverless.Pipelines.Triggers;

/// <summary>
/// Git-style globs: <c>*</c> and <c>?</c> stay within a path segment, <c>**</c> crosses segments and
/// <c>**/</c> also matches no directory at all (so <c>**/*.md</c> matches <c>README.md</c>).
/// </summary>
public static class GlobPattern
{
    public static bool IsMatch(string pattern, string text)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(text);
        return Regex.IsMatch(text, ToRegex(pattern), RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
    }

    /// <summary>
    /// Include/exclude lists: a <c>!</c> pattern excludes, and the last pattern that matches decides. With only
    /// exclusions, everything else is included; an empty list includes everything.
    /// </summary>
    public static bool MatchesList(IReadOnlyList<string> patterns, string text)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        if (patterns.Count == 0)
        {
            return true;
        }

        var included = patterns.All(p => p.StartsWith('!'));
        foreach (var pattern in patterns)
        {
            var negated = pattern.StartsWith('!');
            if (IsMatch(negated ? pattern[1..] : pattern, text))
            {
                included = !negated;
            }
        }

        return included;
    }

    private static string ToRegex(string pattern)
    {
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '*' && i + 1 < pattern.Length && pattern[i + 1] == '*')
            {
                var slashFollows = i + 2 < pattern.Length && pattern[i + 2] == '/';
                regex.Append(slashFollows ? "(?:.*/)?" : ".*");
                i += slashFollows ? 2 : 1;
            }
            else if (c == '*')
            {
                regex.Append("[^/]*");
            }
            else if (c == '?')
            {
                regex.Append("[^/]");
            }
            else
            {
                regex.Append(Regex.Escape(c.ToString()));
            }
        }

        return regex.Append('$').ToString();
    }
}
