using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public class StateKeysTests
{
    [Fact]
    public void A_key_over_the_documented_length_is_refused_with_a_typed_error()
    {
        var key = new string('k', StateKeys.MaxKeyLength + 1);
        var error = Assert.Throws<InvalidStateKeyException>(() => StateKeys.Validate(key));
        Assert.Contains("512", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_at_the_documented_length_is_accepted() => StateKeys.Validate(new string('k', StateKeys.MaxKeyLength));
}
