namespace Serverless.Pipelines.Runs;

public static class StepStatusExtensions
{
    public static bool IsTerminal(this StepStatus status) => status is StepStatus.Succeeded or StepStatus.Failed or StepStatus.Skipped or StepStatus.Cancelled;

    public static bool IsTerminal(this RunStatus status) => status is RunStatus.Succeeded or RunStatus.Failed or RunStatus.Cancelled;

    /// <summary>The status as expressions see it: <c>steps.build.status == 'succeeded'</c>.</summary>
    public static string ToExpressionText(this StepStatus status) => status switch
    {
        StepStatus.AwaitingApproval => "awaiting_approval",
        _ => status.ToString().ToLowerInvariant(),
    };
}
