using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Service;

/// <summary>The topics of the pipelines capability, the CloudEvent types each carries, and which topic each state-machine event goes to.</summary>
public static class PipelineTopics
{
    /// <summary>Orchestrator → runners: run attempt N of a step.</summary>
    public const string StepDispatch = "pipeline.step.dispatch";

    /// <summary>Runners → orchestrator: an attempt started or completed.</summary>
    public const string StepResult = "pipeline.step.result";

    public const string RunStarted = "pipeline.run.started";
    public const string RunFinished = "pipeline.run.finished";
    public const string StepStarted = "pipeline.step.started";
    public const string StepFinished = "pipeline.step.finished";

    /// <summary>Everything else the state machine reports (cancelling, restarted, approval requested, step restarted).</summary>
    public const string RunUpdated = "pipeline.run.updated";

    /// <summary>Pushes, as the webhooks capability normalises them.</summary>
    public const string ScmPush = "scm.push";

    public static IReadOnlyList<string> Published { get; } = [StepDispatch, StepResult, RunStarted, RunFinished, StepStarted, StepFinished, RunUpdated];

    /// <summary>
    /// The CloudEvent types each published topic carries. Subscribers see few, stable topics: every way a run ends
    /// goes to <c>pipeline.run.finished</c> and every way a step ends to <c>pipeline.step.finished</c>; the type keeps
    /// the detail (<c>pipeline.run.failed</c>). The dispatch and result messages have their topic's name as type.
    /// </summary>
    public static IReadOnlyDictionary<string, IReadOnlyList<string>> EventTypes { get; } = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal)
    {
        [StepDispatch] = [StepDispatch],
        [StepResult] = [StepResult],
        [RunStarted] = [RunEventTypes.RunStarted],
        [RunFinished] = RunEventTypes.RunOutcomes,
        [StepStarted] = [RunEventTypes.StepStarted],
        [StepFinished] = RunEventTypes.StepOutcomes,
        [RunUpdated] = [RunEventTypes.RunCancelling, RunEventTypes.RunRestarted, RunEventTypes.StepRestarted, RunEventTypes.ApprovalRequested],
    };

    /// <summary>What each published topic is, for <c>/api/topics</c> and the outbound webhooks' event catalogue.</summary>
    public static IReadOnlyDictionary<string, string> Descriptions { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [StepDispatch] = "pipelines: a step attempt handed to the runners (internal)",
        [StepResult] = "pipelines: a runner's report that an attempt started or ended (internal)",
        [RunStarted] = "pipelines: a run started",
        [RunFinished] = "pipelines: a run ended; the type says how (succeeded, failed, cancelled)",
        [StepStarted] = "pipelines: a step attempt started",
        [StepFinished] = "pipelines: a step ended; the type says how (succeeded, failed, skipped, cancelled)",
        [RunUpdated] = "pipelines: a run is cancelling or restarted, a step restarted, or an approval was requested",
    };

    private static readonly Dictionary<string, string> TopicOfType = EventTypes
        .Where(t => t.Key is not (StepDispatch or StepResult))
        .SelectMany(t => t.Value.Select(type => (Type: type, Topic: t.Key)))
        .ToDictionary(t => t.Type, t => t.Topic, StringComparer.Ordinal);

    /// <summary>The topic a state-machine event of <paramref name="eventType"/> goes to (<see cref="EventTypes"/>); an undeclared type goes to <see cref="RunUpdated"/>.</summary>
    public static string For(string eventType) => TopicOfType.GetValueOrDefault(eventType, RunUpdated);
}
