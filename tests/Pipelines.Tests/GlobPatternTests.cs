using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipelines.Tests;

/// <summary>Found by review: the glob was a backtracking regex that timed out (and threw) on crafted patterns.</summary>
public sealed class GlobPatternTests
{
    [Fact]
    public void The_reviewers_pathological_pattern_is_answered_at_once_without_an_exception()
    {
        const string Pattern = "**a**a**a**a**a**a**a**b";
        var text = "src/" + new string('a', 120);
        var clock = Stopwatch.StartNew();
        Assert.False(GlobPattern.IsMatch(Pattern, text));
        Assert.True(GlobPattern.IsMatch(Pattern, text + "b"));
        Assert.False(GlobPattern.IsMatch("*a*a*a*a*a*a*a*a*a*a*b", new string('a', 10_000)));
        Assert.False(GlobPattern.IsMatch("**/**/**/**/**/**/**/x", string.Concat(Enumerable.Repeat("a/", 2_000))));

        // Well under the old 1 s regex timeout for all four (the regex took longer than that for the first one alone).
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), clock.Elapsed.ToString());
    }

    [Theory]
    [InlineData("src/**", "src/a/b/c.cs", true)]
    [InlineData("src/**", "src", false)]
    [InlineData("**/*.md", "README.md", true)]
    [InlineData("**/*.md", "docs/a/b.md", true)]
    [InlineData("docs/**/x", "docs/x", true)]
    [InlineData("docs/**/x", "docsx", false)]
    [InlineData("*.cs", "a/b.cs", false)]
    [InlineData("a?c", "a/c", false)]
    [InlineData("a?c", "abc", true)]
    [InlineData("a.b", "axb", false)]
    [InlineData("a+(b)", "a+(b)", true)]
    [InlineData("release/*", "release/1.2", true)]
    [InlineData("release/*", "release/1.2/hotfix", false)]
    [InlineData("**", "", true)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    public void Globs_keep_their_documented_meaning(string pattern, string text, bool expected) =>
        Assert.Equal(expected, GlobPattern.IsMatch(pattern, text));

    /// <summary>The new matcher agrees with the old regex translation on every pattern the old one could answer.</summary>
    [Fact]
    public void Agrees_with_the_old_regex_semantics_on_random_patterns_and_paths()
    {
        var random = new Random(3);
        const string PatternAlphabet = "ab/*?.";
        const string TextAlphabet = "ab/.";
        for (var i = 0; i < 50_000; i++)
        {
            var pattern = Random(random, PatternAlphabet, random.Next(0, 9));
            var text = Random(random, TextAlphabet, random.Next(0, 13));
            Assert.True(OldIsMatch(pattern, text) == GlobPattern.IsMatch(pattern, text), $"'{pattern}' on '{text}'");
        }
    }

    [Fact]
    public void Agrees_with_the_old_regex_semantics_on_realistic_patterns()
    {
        string[] patterns = ["src/**", "**/*.md", "!docs/internal/**", "main", "release/*", "**/test/**/*.cs", "*.{cs}", "a/**/b/**/c", "v?.*", "**", "*", "?", "**/", "src/**/", "docs/*/*.md"];
        string[] texts = ["src/app.cs", "README.md", "docs/internal/x.md", "main", "release/1.2", "release/1.2/hotfix", "a/test/b/c.cs", "test/x.cs", "x.{cs}", "a/b/c", "a/x/b/y/c", "v1.2", "", "src/", "docs/a/b.md", "docs/a.md"];
        foreach (var pattern in patterns)
        {
            foreach (var text in texts)
            {
                var p = pattern.TrimStart('!');
                Assert.True(OldIsMatch(p, text) == GlobPattern.IsMatch(p, text), $"'{p}' on '{text}'");
            }
        }
    }

    [Fact]
    public void Lists_holding_a_pathological_pattern_still_decide_in_order()
    {
        Assert.True(GlobPattern.MatchesList(["**a**a**a**a**a**a**a**b", "src/**"], "src/" + new string('a', 120)));
        Assert.False(GlobPattern.MatchesList(["src/**", "!**a**a**a**a**a**a**a**"], "src/" + new string('a', 120)));
    }

    private static string Random(Random random, string alphabet, int length)
    {
        var builder = new StringBuilder(length);
        for (var i = 0; i < length; i++)
        {
            builder.Append(alphabet[random.Next(alphabet.Length)]);
        }

        return builder.ToString();
    }

    /// <summary>The translation the matcher used before (kept here as the reference semantics).</summary>
    private static bool OldIsMatch(string pattern, string text)
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

        return Regex.IsMatch(text, regex.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
