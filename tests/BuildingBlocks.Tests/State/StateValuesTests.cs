using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public class StateValuesTests
{
    [Fact]
    public void A_value_spanning_its_whole_array_is_that_array_and_a_part_of_one_is_a_copy_of_the_part()
    {
        var whole = new byte[] { 1, 2, 3, 4 };
        Assert.Same(whole, StateValues.AsArray(whole));
        var part = StateValues.AsArray(whole.AsMemory(1, 2));
        Assert.Equal(new byte[] { 2, 3 }, part);
        Assert.NotSame(whole, part);
        Assert.Empty(StateValues.AsArray(ReadOnlyMemory<byte>.Empty));
    }
}
