namespace Serverless.Pipelines.Runs;

public sealed record ApprovalVote(string User, bool Approved, DateTimeOffset At)
{
    public string? Comment { get; init; }
}
