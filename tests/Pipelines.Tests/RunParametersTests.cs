using System.Text.Json;

namespace Pipelines.Tests;

public sealed class RunParametersTests
{
    private static readonly PipelineDefinition Definition = new()
    {
        Name = "p",
        Parameters =
        [
            new ParameterSpec { Name = "env", Type = ParameterType.Choice, Options = ["staging", "prod"], Default = JsonSerializer.SerializeToElement("staging") },
            new ParameterSpec { Name = "replicas", Type = ParameterType.Number, Default = JsonSerializer.SerializeToElement(3) },
            new ParameterSpec { Name = "dryRun", Type = ParameterType.Flag },
            new ParameterSpec { Name = "ticket", Type = ParameterType.Text, Required = true },
        ],
    };

    [Fact]
    public void Given_values_are_typed_and_defaults_fill_the_rest()
    {
        var (values, problems) = RunParameters.Resolve(Definition, new Dictionary<string, string?> { ["ticket"] = "OPS-1", ["dryRun"] = "true", ["replicas"] = "5" });
        Assert.Empty(problems);
        Assert.Equal("staging", values["env"]);
        Assert.Equal(5.0, values["replicas"]);
        Assert.Equal(true, values["dryRun"]);
        Assert.Equal("OPS-1", values["ticket"]);
    }

    [Fact]
    public void Every_bad_value_is_reported_with_its_path()
    {
        var (_, problems) = RunParameters.Resolve(Definition, new Dictionary<string, string?> { ["env"] = "qa", ["replicas"] = "lots", ["dryRun"] = "maybe", ["colour"] = "red" });
        Assert.Equal(
            [
                "parameters.colour: unknown parameter",
                "parameters.env: 'qa' is not one of the options (staging, prod)",
                "parameters.replicas: expected a number but found 'lots'",
                "parameters.dryRun: expected a boolean but found 'maybe'",
                "parameters.ticket: required",
            ],
            problems.Select(p => p.ToString()));
    }

    [Theory]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1e400")]
    public void A_number_that_is_not_finite_is_reported_not_accepted(string given)
    {
        var (_, problems) = RunParameters.Resolve(Definition, new Dictionary<string, string?> { ["ticket"] = "OPS-1", ["replicas"] = given });
        Assert.Equal($"parameters.replicas: expected a number but found '{given}'", Assert.Single(problems).ToString());
    }
}
