namespace Pipelines.Tests;

public sealed class PushTriggerTests
{
    private static readonly PushTrigger Trigger = new()
    {
        Repository = "acme/web",
        Branches = ["main", "release/*", "!release/old"],
        Paths = ["src/**", "**/*.md", "!docs/internal/**"],
    };

    private static bool Matches(string reference, params string[] paths) => PushTriggerMatcher.Matches(Trigger, new PushEvent("acme/web", reference, paths));

    [Theory]
    [InlineData("refs/heads/main", true)]
    [InlineData("refs/heads/release/1.2", true)]
    [InlineData("refs/heads/release/old", false)] // excluded by the later pattern
    [InlineData("refs/heads/release/1.2/hotfix", false)] // * stays within a segment
    [InlineData("refs/heads/feature/x", false)]
    [InlineData("refs/tags/v1.0", false)] // tags are not branches
    public void Branch_globs_with_exclusions(string reference, bool expected) => Assert.Equal(expected, Matches(reference, "src/app.cs"));

    [Theory]
    [InlineData(true, "src/deep/nested/file.cs")]
    [InlineData(true, "README.md")] // **/ matches no directory too
    [InlineData(true, "docs/guide/intro.md")]
    [InlineData(false, "docs/internal/notes.md")] // the exclusion comes last and wins
    [InlineData(false, "build/output.dll")]
    [InlineData(true, "build/output.dll", "src/x.cs")] // one included path is enough
    [InlineData(false)]
    public void Path_globs_need_one_included_changed_path(bool expected, params string[] paths) => Assert.Equal(expected, Matches("refs/heads/main", paths));

    [Fact]
    public void Another_repository_does_not_match() =>
        Assert.False(PushTriggerMatcher.Matches(Trigger, new PushEvent("acme/api", "refs/heads/main", ["src/a.cs"])));

    [Fact]
    public void Empty_filters_match_every_branch_and_path()
    {
        var any = new PushTrigger();
        Assert.True(PushTriggerMatcher.Matches(any, new PushEvent("x/y", "refs/heads/whatever", [])));
    }

    [Fact]
    public void Only_exclusions_include_everything_else()
    {
        Assert.True(GlobPattern.MatchesList(["!wip/*"], "main"));
        Assert.False(GlobPattern.MatchesList(["!wip/*"], "wip/x"));
    }

    [Fact]
    public void A_push_that_deletes_the_branch_starts_nothing()
    {
        Assert.True(PushEvent.IsDeletion(new string('0', 40)));
        Assert.False(PushEvent.IsDeletion("59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5"));
        Assert.False(PushTriggerMatcher.Matches(new PushTrigger(), new PushEvent("x/y", "refs/heads/main", [], Deleted: true)));
        Assert.True(PushTriggerMatcher.Matches(new PushTrigger(), new PushEvent("x/y", "refs/heads/main", [], Deleted: false)));
    }
}
