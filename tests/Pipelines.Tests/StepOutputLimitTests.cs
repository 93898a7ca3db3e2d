namespace Pipelines.Tests;

public sealed class StepOutputLimitTests
{
    [Fact]
    public void Outputs_count_the_utf8_bytes_of_names_and_values()
    {
        var outputs = new Dictionary<string, string> { ["a"] = "€€", ["bb"] = "x" }; // 1 + 6 + 2 + 1
        Assert.Equal(10, StepOutputLimit.Size(outputs));
        Assert.Null(StepOutputLimit.Problem(outputs, 10));
        Assert.Equal(
            "the outputs are 10 bytes, over the step output cap of 9 bytes (Pipelines:Runner:MaxOutputBytes); pass large data through files or an artifact store, not outputs",
            StepOutputLimit.Problem(outputs, 9));
    }

    [Fact]
    public void A_script_output_file_is_judged_by_its_size()
    {
        Assert.Null(StepOutputLimit.FileProblem(65536, StepOutputLimit.DefaultMaxBytes));
        Assert.StartsWith("$PIPELINE_OUTPUT holds 65537 bytes, over the step output cap of 65536 bytes", StepOutputLimit.FileProblem(65537, StepOutputLimit.DefaultMaxBytes), StringComparison.Ordinal);
    }

    [Fact]
    public void An_http_body_output_is_its_first_4_KiB_cut_at_a_character()
    {
        Assert.Equal("short", StepOutputLimit.HttpBody("short"));
        Assert.Equal(new string('x', 4096), StepOutputLimit.HttpBody(new string('x', 5000)));
        Assert.Equal(string.Concat(Enumerable.Repeat("😀", 1024)), StepOutputLimit.HttpBody(string.Concat(Enumerable.Repeat("😀", 2000))));
        Assert.Equal(new string('€', 1365), StepOutputLimit.HttpBody(new string('€', 2000)));

        // The cap can never refuse an http step: its body and status always fit the smallest cap allowed.
        var outputs = new Dictionary<string, string> { ["status"] = "200", ["body"] = StepOutputLimit.HttpBody(new string('€', 9000)) };
        Assert.Null(StepOutputLimit.Problem(outputs, StepOutputLimit.MinimumMaxBytes));
    }
}
