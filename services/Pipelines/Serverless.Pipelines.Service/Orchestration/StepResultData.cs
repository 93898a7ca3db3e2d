using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>
/// The payload of <c>pipeline.step.result</c>: a runner started (<see cref="Outcome"/> null) or finished an attempt.
/// The step's log is in the state store under the run, step and attempt (GET /api/runs/{id}/steps/{step}/log).
/// </summary>
public sealed record StepResultData(string RunId, string StepId, int Attempt, StepOutcome? Outcome, DateTimeOffset At)
{
    public IReadOnlyDictionary<string, string>? Outputs { get; init; }

    public string? Error { get; init; }

    /// <summary>On a final report: when the runner started the attempt (the start report may arrive after this one).</summary>
    public DateTimeOffset? StartedAt { get; init; }

    public RunEvent ToRunEvent() => Outcome is { } outcome
        ? new StepCompleted(StepId, Attempt, outcome, At) { Outputs = Outputs ?? new Dictionary<string, string>(), Error = Error, StartedAt = StartedAt }
        : new StepStarted(StepId, Attempt, At);
}
