using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public class TimeOrderedIdTests
{
    [Fact]
    public void Ids_made_in_the_same_millisecond_still_sort_in_creation_order()
    {
        var now = DateTimeOffset.UtcNow;
        var ids = Enumerable.Range(0, 1000).Select(_ => TimeOrderedId.Next(now)).ToList();
        Assert.Equal(ids, ids.Order(StringComparer.Ordinal));
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.All(ids, id => Assert.True(TimeOrderedId.IsWellFormed(id)));
    }

    [Fact]
    public void A_clock_that_steps_back_does_not_break_the_order()
    {
        var later = TimeOrderedId.Next(DateTimeOffset.UtcNow.AddSeconds(5));
        var earlier = TimeOrderedId.Next(DateTimeOffset.UtcNow);
        Assert.True(string.CompareOrdinal(earlier, later) > 0);
    }

    [Fact]
    public void An_id_for_a_time_and_a_sequence_is_always_the_same_well_formed_id_and_sorts_by_time()
    {
        var at = DateTimeOffset.FromUnixTimeMilliseconds(1_764_000_000_123);
        Assert.Equal(TimeOrderedId.For(at, 42), TimeOrderedId.For(at, 42));
        Assert.NotEqual(TimeOrderedId.For(at, 42), TimeOrderedId.For(at, 43));
        Assert.Equal("019ab697e87b0000000000000000002a", TimeOrderedId.For(at, 42));
        Assert.True(TimeOrderedId.IsWellFormed(TimeOrderedId.For(at, long.MaxValue)));
        Assert.True(string.CompareOrdinal(TimeOrderedId.For(at, long.MaxValue), TimeOrderedId.For(at.AddMilliseconds(1), 1)) < 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("../../etc/passwd")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    public void Anything_else_is_not_an_id(string candidate) => Assert.False(TimeOrderedId.IsWellFormed(candidate));
}
