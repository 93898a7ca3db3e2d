namespace Serverless.Pipelines.Runs;

public static class StepStatusExtensions
{
    public static bool IsTerminal(this StepStatus status) => status is StepStatus.Succeeded or StepStatus.Failed or StepStatus.Skipped or StepStatus.Cancelled;

    public static bool IsTerminal(this RunStatus status) => status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    /// <summary>The status as expressions see it: <c>steps.build.status == 'succeeded'</c>.</summary>
    public static string ToExpressionText(this StepStatus status) => status switch
    {
        // Literals, not ToString().ToLowerInvariant(): every readiness decision builds the run's step contexts, so
        // this ran for every step of the run on every report (a boxed enum and two strings each time).
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
