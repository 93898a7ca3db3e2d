using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>Something the host must do as a result of a transition; the state machine itself does no I/O.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "command")]
[JsonDerivedType(typeof(DispatchStep), "dispatchStep")]
[JsonDerivedType(typeof(CancelStep), "cancelStep")]
[JsonDerivedType(typeof(StartTimer), "startTimer")]
[JsonDerivedType(typeof(CancelTimer), "cancelTimer")]
[JsonDerivedType(typeof(PublishEvent), "publishEvent")]
public abstract record RunCommand;

/// <summary>Hand attempt <paramref name="Attempt"/> of a step to a runner after <paramref name="Delay"/> (a retry's backoff; zero otherwise).</summary>
public sealed record DispatchStep(string StepId, int Attempt, TimeSpan Delay) : RunCommand;

public sealed record CancelStep(string StepId, int Attempt) : RunCommand;

/// <summary>Fire a <see cref="TimerFired"/> with <paramref name="TimerId"/> at <paramref name="DueAt"/>.</summary>
public sealed record StartTimer(string TimerId, DateTimeOffset DueAt) : RunCommand;

public sealed record CancelTimer(string TimerId) : RunCommand;

/// <summary>Tell the outside world (event bus, webhooks): e.g. <c>pipeline.step.failed</c>.</summary>
public sealed record PublishEvent(string Type, string RunId, string? StepId = null) : RunCommand
{
    public string? Detail { get; init; }
}
