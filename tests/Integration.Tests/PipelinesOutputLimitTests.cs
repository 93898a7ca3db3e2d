using System.Text;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>
/// Step outputs are capped (<c>Pipelines:Runner:MaxOutputBytes</c>, here 8 KiB): a script writing more to
/// <c>$PIPELINE_OUTPUT</c> fails naming the cap, keeps its log, and nothing large lands in the run record; an http
/// step's body output is its first 4 KiB of UTF-8. Found by review (outputs were unbounded).
/// </summary>
public abstract class PipelinesOutputLimitContract : PipelinesApiContract
{
    protected override IDictionary<string, string?> ClassSettings => new Dictionary<string, string?> { ["Pipelines:Runner:MaxOutputBytes"] = "8192" };

    [Fact]
    public async Task A_step_writing_outputs_over_the_cap_fails_naming_it_and_keeps_its_log()
    {
        await using var endpoint = await PipelinesFaultyEndpoint.StartAsync();
        await SaveAsync("outputs", $$$"""
            name: outputs
            steps:
              - id: small
                kind: script
                run: echo "version=1.2.3" >> "$PIPELINE_OUTPUT"
                outputs: [version]
              - id: big
                kind: script
                run: |
                  echo "writing a lot"
                  printf 'blob=%020000d\n' 0 >> "$PIPELINE_OUTPUT"
                outputs: [blob]
              - id: euros
                kind: http
                url: "{{{endpoint.BaseUrl}}}/euros"
              - id: after
                kind: script
                needs: [small, euros]
                env: {V: "${{ steps.small.outputs.version }}"}
                run: echo "got $V"
            """);
        var runId = await StartAsync("outputs");

        var run = await WaitForStatusAsync(runId, "Failed");
        Assert.Equal("Succeeded", Status(run, "small"));
        Assert.Equal("Failed", Status(run, "big"));
        Assert.Equal(
            "$PIPELINE_OUTPUT holds 20006 bytes, over the step output cap of 8192 bytes (Pipelines:Runner:MaxOutputBytes); pass large data through files or an artifact store, not outputs",
            Step(run, "big").GetProperty("reason").GetString());
        Assert.Contains("writing a lot\n", await Admin.GetStringAsync($"/api/runs/{runId}/steps/big/log"), StringComparison.Ordinal);
        Assert.Equal("got 1.2.3\n", await Admin.GetStringAsync($"/api/runs/{runId}/steps/after/log"));

        // The http body output is the response's first 4 KiB of UTF-8, cut at a character (1,365 '€' of 3 bytes).
        Assert.Equal("Succeeded", Status(run, "euros"));
        var body = Step(run, "euros").GetProperty("outputs").GetProperty("body").GetString()!;
        Assert.Equal(new string('€', 1365), body);

        // Nothing of the refused outputs reached the run record.
        var record = await Admin.GetStringAsync($"/api/runs/{runId}");
        Assert.InRange(Encoding.UTF8.GetByteCount(record), 0, 20_000);
        Assert.False(Step(run, "big").TryGetProperty("outputs", out var outputs) && outputs.ValueKind == JsonValueKind.Object && outputs.EnumerateObject().Any());
    }
}

public sealed class EmbeddedPipelinesOutputLimitTests : PipelinesOutputLimitContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesOutputLimitTests : PipelinesOutputLimitContract
{
    protected override DistributedProfile Distributed { get; } = new("pipeout");
}
