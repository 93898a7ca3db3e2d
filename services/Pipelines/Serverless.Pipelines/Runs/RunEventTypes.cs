namespace Serverless.Pipelines.Runs;

/// <summary>
/// Every CloudEvent type the state machine publishes (<see cref="PublishEvent.Type"/>). The host declares them on its
/// topics and outbound webhooks check subscriptions against them, so a type the machine publishes must be here.
/// </summary>
public static class RunEventTypes
{
    public const string RunStarted = "pipeline.run.started";
    public const string RunCancelling = "pipeline.run.cancelling";
    public const string RunRestarted = "pipeline.run.restarted";
    public const string StepStarted = "pipeline.step.started";
    public const string StepRestarted = "pipeline.step.restarted";
    public const string ApprovalRequested = "pipeline.approval.requested";

    /// <summary>How a run ended, one type per terminal <see cref="RunStatus"/>: <c>pipeline.run.failed</c>.</summary>
    public static IReadOnlyList<string> RunOutcomes { get; } =
        [.. Enum.GetValues<RunStatus>().Where(s => s.IsTerminal()).Select(RunFinished)];

    /// <summary>How a step ended, one type per terminal <see cref="StepStatus"/>: <c>pipeline.step.skipped</c>.</summary>
    public static IReadOnlyList<string> StepOutcomes { get; } =
        [.. Enum.GetValues<StepStatus>().Where(s => s.IsTerminal()).Select(StepFinished)];

    /// <summary>Every type above.</summary>
    public static IReadOnlyList<string> All { get; } =
        [RunStarted, .. RunOutcomes, RunCancelling, RunRestarted, StepStarted, .. StepOutcomes, StepRestarted, ApprovalRequested];

    /// <exception cref="ArgumentOutOfRangeException">The status does not end a run.</exception>
    public static string RunFinished(RunStatus status) => status.IsTerminal()
        ? "pipeline.run." + status.ToString().ToLowerInvariant()
        : throw new ArgumentOutOfRangeException(nameof(status), status, "not a status a run ends in");

    /// <exception cref="ArgumentOutOfRangeException">The status does not end a step.</exception>
    public static string StepFinished(StepStatus status) => status.IsTerminal()
        ? "pipeline.step." + status.ToExpressionText()
        : throw new ArgumentOutOfRangeException(nameof(status), status, "not a status a step ends in");
}
