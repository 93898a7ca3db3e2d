namespace Serverless.Pipelines.Runs;

public sealed record ApprovalVote(string User, bool Approved, DateTimeOffset At)
{
    public string? Comment { get; init; }

    /// <summary>For a canary deploy's approval gate: the attempt and gate voted on (null for an approval step).</summary>
    public DeployGate? Gate { get; init; }
}
