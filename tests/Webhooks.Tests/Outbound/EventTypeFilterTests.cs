using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class EventTypeFilterTests
{
    [Fact]
    public void Exact_names_and_prefix_patterns_match_as_documented()
    {
        var filter = EventTypeFilter.Create(["invoice.paid", "user.*"]);

        Assert.True(filter.Matches("invoice.paid"));
        Assert.False(filter.Matches("invoice.paid.late"));
        Assert.False(filter.Matches("Invoice.Paid"));
        Assert.True(filter.Matches("user.created"));
        Assert.True(filter.Matches("user.profile.updated"));
        Assert.False(filter.Matches("user"));
        Assert.False(filter.Matches("username.changed"));
    }

    [Fact]
    public void Star_alone_and_no_patterns_both_mean_every_event()
    {
        Assert.True(EventTypeFilter.Create(["*"]).Matches("anything.at.all"));
        Assert.True(EventTypeFilter.Create([]).Matches("x"));
        Assert.True(EventTypeFilter.Create(null).Matches("x"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("user*")]
    [InlineData("*.created")]
    [InlineData("user.*.created")]
    [InlineData("user..created")]
    [InlineData(".user")]
    [InlineData("user.")]
    [InlineData("user created")]
    [InlineData("user.**")]
    public void Invalid_patterns_are_rejected(string pattern)
    {
        Assert.NotNull(EventTypeFilter.Validate(pattern));
        var error = Assert.Throws<ArgumentException>(() => EventTypeFilter.Create(["ok.type", pattern]));
        Assert.Contains("[1]", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("invoice.paid")]
    [InlineData("a")]
    [InlineData("order_v2.line-item.*")]
    [InlineData("*")]
    public void Valid_patterns_pass(string pattern) => Assert.Null(EventTypeFilter.Validate(pattern));

    [Theory]
    [InlineData("pipeline.run.failed", "pipeline.run.failed", true)]
    [InlineData("pipeline.run.failed", "pipeline.run.finished", false)]
    [InlineData("pipeline.run.failed", "pipeline.*", true)]
    [InlineData("pipeline.run.failed", "pipeline.run.failed.*", false)]
    [InlineData("pipeline.run", "pipeline.run.*", false)]
    [InlineData("pipeline.*", "pipeline.run.failed", true)]
    [InlineData("pipeline.*", "pipeline", false)]
    [InlineData("pipeline.*", "pipelines.run", false)]
    [InlineData("pipeline.*", "pipeline.custom.*", true)]
    [InlineData("pipeline.custom.*", "pipeline.*", true)]
    [InlineData("pipeline.step.*", "pipeline.custom.*", false)]
    [InlineData("anything.at.all", "*", true)]
    [InlineData("*", "scm.push", true)]
    public void A_pattern_overlaps_a_declared_type_when_some_event_type_matches_both(string pattern, string declared, bool expected)
    {
        Assert.Equal(expected, EventTypeFilter.Overlaps(pattern, declared));
        Assert.Equal(expected, EventTypeFilter.Overlaps(declared, pattern));
    }
}
