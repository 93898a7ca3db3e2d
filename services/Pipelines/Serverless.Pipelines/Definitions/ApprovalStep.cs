namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Waits for <see cref="MinApprovers"/> of the named <see cref="Approvers"/> to approve; one rejection rejects.
/// When the step's <see cref="StepSpec.Timeout"/> passes first, <see cref="OnTimeout"/> decides.
/// </summary>
public sealed record ApprovalStep : StepSpec
{
    public IReadOnlyList<string> Approvers { get; init; } = [];

    public int MinApprovers { get; init; } = 1;

    public ApprovalTimeoutOutcome OnTimeout { get; init; } = ApprovalTimeoutOutcome.Reject;

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "approval";
}
