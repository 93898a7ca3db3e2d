using Serverless.BuildingBlocks.Hosting;

namespace BuildingBlocks.Tests.Hosting;

public sealed class GcSettingsTests
{
    [Theory]
    [InlineData("0x4000000", "64 MB")]
    [InlineData("4000000", "64 MB")]
    [InlineData(" 0X2000000 ", "32 MB")]
    [InlineData("0x1800000", "24 MB")]
    public void A_set_budget_is_reported_in_megabytes_without_a_warning(string value, string shown)
    {
        var (message, warning) = GcSettings.Describe(serverGc: true, heaps: 2, value);

        Assert.False(warning);
        Assert.Equal($"server GC, 2 heaps, smallest gen0 budget {shown} (DOTNET_GCgen0size)", message);
    }

    [Fact]
    public void A_server_GC_without_the_budget_is_a_warning_that_says_what_to_set()
    {
        var (message, warning) = GcSettings.Describe(serverGc: true, heaps: 2, gen0Size: null);

        Assert.True(warning);
        Assert.StartsWith("server GC, 2 heaps, DOTNET_GCgen0size not set", message, StringComparison.Ordinal);
        Assert.Contains("DOTNET_GCgen0size=0x4000000", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_workstation_GC_without_the_budget_is_only_described()
    {
        var (message, warning) = GcSettings.Describe(serverGc: false, heaps: 1, gen0Size: null);

        Assert.False(warning);
        Assert.Equal("workstation GC, the runtime's own gen0 budget", message);
    }

    [Theory]
    [InlineData("64MB")]
    [InlineData("0x")]
    [InlineData("0")]
    [InlineData("")]
    public void A_value_the_runtime_would_ignore_is_a_warning(string value)
    {
        var (message, warning) = GcSettings.Describe(serverGc: true, heaps: 1, value);

        Assert.True(warning);
        Assert.StartsWith($"server GC, 1 heap, DOTNET_GCgen0size='{value}' is not a positive hexadecimal byte count", message, StringComparison.Ordinal);
    }
}
