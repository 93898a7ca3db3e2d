namespace Serverless.Pipelines.Service;

/// <summary>The topics of the pipelines capability, and which topic each state-machine event goes to.</summary>
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
    /// Subscribers see few, stable topics: every way a run ends goes to <c>pipeline.run.finished</c> and every way a
    /// step ends to <c>pipeline.step.finished</c>; the CloudEvent type keeps the detail (<c>pipeline.run.failed</c>).
    /// </summary>
    public static string For(string eventType) => eventType switch
    {
        "pipeline.run.started" => RunStarted,
        "pipeline.run.succeeded" or "pipeline.run.failed" or "pipeline.run.cancelled" => RunFinished,
        "pipeline.step.started" => StepStarted,
        "pipeline.step.succeeded" or "pipeline.step.failed" or "pipeline.step.skipped" or "pipeline.step.cancelled" => StepFinished,
        _ => RunUpdated,
    };
}
