using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service;

namespace Pipelines.Service.Tests;

/// <summary>The topics declare exactly the CloudEvent types the state machine publishes to them (outbound webhooks rely on it).</summary>
public sealed class PipelineTopicsTests
{
    [Fact]
    public void Every_type_the_state_machine_publishes_is_declared_on_the_topic_it_goes_to()
    {
        foreach (var type in RunEventTypes.All)
        {
            Assert.Contains(type, PipelineTopics.EventTypes[PipelineTopics.For(type)]);
        }
    }

    [Fact]
    public void The_finished_topics_carry_one_type_per_terminal_status()
    {
        Assert.Equal(
            Enum.GetValues<RunStatus>().Where(s => s.IsTerminal()).Select(s => "pipeline.run." + s.ToString().ToLowerInvariant()),
            PipelineTopics.EventTypes[PipelineTopics.RunFinished]);
        Assert.Equal(
            Enum.GetValues<StepStatus>().Where(s => s.IsTerminal()).Select(s => "pipeline.step." + s.ToExpressionText()),
            PipelineTopics.EventTypes[PipelineTopics.StepFinished]);
        Assert.Equal(PipelineTopics.RunFinished, PipelineTopics.For("pipeline.run.failed"));
        Assert.Equal(PipelineTopics.StepFinished, PipelineTopics.For("pipeline.step.skipped"));
    }

    [Fact]
    public void Every_published_topic_declares_its_types_and_a_description_and_no_type_is_on_two_topics()
    {
        Assert.Equal(PipelineTopics.Published.Order(StringComparer.Ordinal), PipelineTopics.EventTypes.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(PipelineTopics.Published.Order(StringComparer.Ordinal), PipelineTopics.Descriptions.Keys.Order(StringComparer.Ordinal));
        var declared = PipelineTopics.EventTypes.Values.SelectMany(t => t).ToList();
        Assert.Equal(declared.Count, declared.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(RunEventTypes.All.Order(StringComparer.Ordinal), declared.Except([PipelineTopics.StepDispatch, PipelineTopics.StepResult]).Order(StringComparer.Ordinal));
    }
}
