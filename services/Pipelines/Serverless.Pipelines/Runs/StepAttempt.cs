namespace Serverless.Pipelines.Runs;

/// <summary>
/// One try of a step. Numbers rise across retries, crash restarts and run retries, so every try stays visible;
/// <see cref="RestartOf"/> names the attempt a crash restart replaced.
/// </summary>
public sealed record StepAttempt
{
    public required int Number { get; init; }

    public required DateTimeOffset QueuedAt { get; init; }

    /// <summary>The wait before dispatch (retry backoff).</summary>
    public TimeSpan Delay { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public AttemptOutcome? Outcome { get; init; }

    public string? Error { get; init; }

    public int? RestartOf { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinished => Outcome is not null;
}
