using System.Collections.Immutable;
using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>A step's state within a run: status, every attempt, the outputs of the succeeded attempt, approval votes.</summary>
public sealed record StepRun
{
    public required string StepId { get; init; }

    public StepStatus Status { get; init; } = StepStatus.Waiting;

    public ImmutableList<StepAttempt> Attempts { get; init; } = [];

    public ImmutableDictionary<string, string> Outputs { get; init; } = ImmutableDictionary<string, string>.Empty;

    public ImmutableList<ApprovalVote> Votes { get; init; } = [];

    /// <summary>Why the step ended as it did when that is not obvious ("a needed step did not succeed", "rejected by ana").</summary>
    public string? Reason { get; init; }

    /// <summary>Retries spent in this pass of the step (reset when the run is retried or rerun).</summary>
    public int RetriesUsed { get; init; }

    [JsonIgnore]
    public StepAttempt? CurrentAttempt => Attempts.IsEmpty ? null : Attempts[^1];

    [JsonIgnore]
    public int NextAttemptNumber => Attempts.IsEmpty ? 1 : Attempts.Max(a => a.Number) + 1;
}
