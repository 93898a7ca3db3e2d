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

    /// <summary>A canary deploy's approval gate waiting for a decision: the attempt and gate it belongs to (null when none is open).</summary>
    public DeployGate? OpenGate { get; init; }

    /// <summary>Decided canary approval gates, per attempt and gate: the deploy's runner goes on or rolls back by them.</summary>
    public ImmutableList<GateDecision> GateDecisions { get; init; } = [];

    /// <summary>True while the current attempt waits at an open approval gate (shown as AwaitingApproval); a decision closes the gate.</summary>
    [JsonIgnore]
    public bool AwaitsGate => Status == StepStatus.Running && OpenGate is { } gate && CurrentAttempt?.Number == gate.Attempt;

    /// <summary>The status as people see it: a deploy waiting at an approval gate is AwaitingApproval (its runner still holds it).</summary>
    [JsonIgnore]
    public StepStatus DisplayStatus => AwaitsGate ? StepStatus.AwaitingApproval : Status;

    /// <summary>Retries spent in this pass of the step (reset when the run is retried or rerun).</summary>
    public int RetriesUsed { get; init; }

    [JsonIgnore]
    public StepAttempt? CurrentAttempt => Attempts.IsEmpty ? null : Attempts[^1];

    [JsonIgnore]
    public int NextAttemptNumber => Attempts.IsEmpty ? 1 : Attempts.Max(a => a.Number) + 1;
}

/// <summary>An approval gate of a canary deploy: which attempt, which gate (1 = after the first percentage).</summary>
public sealed record DeployGate(int Attempt, int Gate);

/// <summary>How a canary approval gate was decided.</summary>
public sealed record GateDecision(int Attempt, int Gate, bool Approved, string By, DateTimeOffset At);
