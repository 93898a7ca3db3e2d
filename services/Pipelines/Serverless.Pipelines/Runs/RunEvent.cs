using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>Something that happened to a run; the input of <see cref="RunStateMachine.Apply"/>.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "event")]
[JsonDerivedType(typeof(RunStarted), "runStarted")]
[JsonDerivedType(typeof(StepStarted), "stepStarted")]
[JsonDerivedType(typeof(StepCompleted), "stepCompleted")]
[JsonDerivedType(typeof(StepLost), "stepLost")]
[JsonDerivedType(typeof(ApprovalDecided), "approvalDecided")]
[JsonDerivedType(typeof(GateOpened), "gateOpened")]
[JsonDerivedType(typeof(TimerFired), "timerFired")]
[JsonDerivedType(typeof(CancelRequested), "cancelRequested")]
[JsonDerivedType(typeof(RetryRequested), "retryRequested")]
[JsonDerivedType(typeof(RerunRequested), "rerunRequested")]
public abstract record RunEvent(DateTimeOffset At);

/// <summary>The run left its concurrency queue and may start steps.</summary>
public sealed record RunStarted(DateTimeOffset At) : RunEvent(At);

/// <summary>A runner began <paramref name="Attempt"/> of a step; a second start of the same attempt means the runner crashed and restarted it.</summary>
public sealed record StepStarted(string StepId, int Attempt, DateTimeOffset At) : RunEvent(At);

public sealed record StepCompleted(string StepId, int Attempt, StepOutcome Outcome, DateTimeOffset At) : RunEvent(At)
{
    public IReadOnlyDictionary<string, string> Outputs { get; init; } = new Dictionary<string, string>();

    /// <summary>When the runner started the attempt: recorded if this report overtook the start report.</summary>
    public DateTimeOffset? StartedAt { get; init; }

    public string? Error { get; init; }
}

/// <summary>
/// The runner of <paramref name="Attempt"/> stopped renewing its lease (its process died), or gave it up on a graceful
/// stop (<see cref="HandedOver"/>): the attempt is recorded as Lost and a new attempt is dispatched (or, when the run is
/// cancelling, the step ends Cancelled).
/// </summary>
public sealed record StepLost(string StepId, int Attempt, DateTimeOffset At) : RunEvent(At)
{
    public string? Reason { get; init; }

    /// <summary>The runner was stopped and handed the attempt over: not counted as a crash of the step.</summary>
    public bool HandedOver { get; init; }
}

public sealed record ApprovalDecided(string StepId, string User, bool Approved, DateTimeOffset At) : RunEvent(At)
{
    public string? Comment { get; init; }
}

/// <summary>
/// The runner of a canary deploy step reached approval gate <paramref name="Gate"/> (1 = after the first percentage) of
/// <paramref name="Attempt"/>: the step awaits an approver's decision (<see cref="ApprovalDecided"/>) before it shifts more traffic.
/// </summary>
public sealed record GateOpened(string StepId, int Attempt, int Gate, DateTimeOffset At) : RunEvent(At);

/// <summary>A timer started by a <see cref="StartTimer"/> command fired.</summary>
public sealed record TimerFired(string TimerId, DateTimeOffset At) : RunEvent(At);

public sealed record CancelRequested(DateTimeOffset At) : RunEvent(At)
{
    public string? By { get; init; }
}

/// <summary>Re-run the failed and cancelled steps and everything downstream of them, keeping what succeeded.</summary>
public sealed record RetryRequested(DateTimeOffset At) : RunEvent(At);

/// <summary>Re-run <paramref name="StepId"/> and every step downstream of it.</summary>
public sealed record RerunRequested(string StepId, DateTimeOffset At) : RunEvent(At);
