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
}
