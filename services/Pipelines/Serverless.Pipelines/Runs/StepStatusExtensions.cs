namespace Serverless.Pipelines.Runs;

public static class StepStatusExtensions
{
    public static bool IsTerminal(this StepStatus status) => status is StepStatus.Succeeded or StepStatus.Failed or StepStatus.Skipped or StepStatus.Cancelled;

    public static bool IsTerminal(this RunStatus status) => status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    /// <summary>
    /// The status as expressions see it: <c>steps.build.status == 'succeeded'</c>. Literals, not a lower-cased
    /// <c>ToString()</c>: every step's context of every attempt holds one of these for as long as the step runs.
    /// </summary>
    public static string ToExpressionText(this StepStatus status) => status switch
    {
        StepStatus.Waiting => "waiting",
        StepStatus.Queued => "queued",
        StepStatus.Running => "running",
        StepStatus.AwaitingApproval => "awaiting_approval",
        StepStatus.Succeeded => "succeeded",
        StepStatus.Failed => "failed",
        StepStatus.Skipped => "skipped",
        StepStatus.Cancelled => "cancelled",
        _ => status.ToString().ToLowerInvariant(),
    };
}
