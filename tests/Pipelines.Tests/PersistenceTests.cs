using System.Text.Json;
using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

/// <summary>The orchestrator will store run state, events and commands as JSON; they must survive the trip.</summary>
public sealed class PersistenceTests
{
    [Fact]
    public void Run_state_round_trips_and_the_machine_continues_from_the_copy()
    {
        var definition = Pipeline([Script("build") with { Outputs = ["version"] }, Script("deploy", "build") with { When = "parameters.env == 'prod' && steps.build.outputs.version != ''" }]);
        var run = new RunDriver(definition, new Dictionary<string, object?> { ["env"] = "prod" });
        run.Start();
        run.Pass("build", outputs: new Dictionary<string, string> { ["version"] = "1.0.0" });
        run.Apply(new CancelRequested(run.Now));

        var json = JsonSerializer.Serialize(run.State, PipelineJson.Options);
        var copy = JsonSerializer.Deserialize<RunState>(json, PipelineJson.Options)!;
        Assert.Equal(json, JsonSerializer.Serialize(copy, PipelineJson.Options));

        // Parameters come back as JSON elements; expressions still read them.
        Assert.True(ExpressionEvaluator.EvaluateCondition("parameters.env == 'prod'", run.Machine.ContextFor(copy, "deploy")));
        var next = run.Machine.Apply(copy, new StepCompleted("deploy", 1, StepOutcome.Cancelled, run.Now));
        Assert.Equal(RunStatus.Cancelled, next.State.Status);
    }

    [Fact]
    public void Events_and_commands_are_polymorphic_json()
    {
        RunEvent runEvent = new StepCompleted("build", 2, StepOutcome.Failed, RunDriver.T0) { Error = "exit 1" };
        var json = JsonSerializer.Serialize(runEvent, PipelineJson.Options);
        Assert.StartsWith("{\"event\":\"stepCompleted\"", json, StringComparison.Ordinal);
        Assert.Equal(json, JsonSerializer.Serialize(JsonSerializer.Deserialize<RunEvent>(json, PipelineJson.Options), PipelineJson.Options));

        RunCommand command = new DispatchStep("build", 3, TimeSpan.FromSeconds(4));
        var commandJson = JsonSerializer.Serialize(command, PipelineJson.Options);
        Assert.Equal("{\"command\":\"dispatchStep\",\"stepId\":\"build\",\"attempt\":3,\"delay\":\"4s\"}", commandJson);
        Assert.Equal(command, JsonSerializer.Deserialize<RunCommand>(commandJson, PipelineJson.Options));
    }
}
