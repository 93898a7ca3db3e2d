namespace Serverless.Pipelines.Runs;

/// <summary>
/// One try of a step. Numbers rise across retries, crash restarts and run retries, so every try stays visible;
/// <see cref="RestartOf"/> names the attempt a crash restart replaced.
/// </summary>
/// <remarks>
/// Two kinds of crash restart exist. A runner that started the same attempt again (a redelivered dispatch) keeps
/// reporting under the old number, so reports of <see cref="RestartOf"/> land on this attempt. An attempt dispatched
/// anew after its predecessor's lease expired (<see cref="Redispatched"/>) runs under its own number: reports of the
/// lost attempt are stale, since its runner may still be alive somewhere.
/// </remarks>
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

    /// <summary>Dispatched anew because the lease of <see cref="RestartOf"/> expired: that attempt's reports no longer count.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Redispatched { get; init; }

    /// <summary>
    /// Lost because its runner was stopped and handed it over (a graceful shutdown or deploy), not because the runner
    /// died: such attempts do not count towards <see cref="RunStateMachine.MaxLostInARow"/>.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool HandedOver { get; init; }

    /// <summary>Whether a runner's report for attempt <paramref name="number"/> belongs to this attempt.</summary>
    public bool Answers(int number) => Number == number || (RestartOf == number && !Redispatched);

    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsFinished => Outcome is not null;
}
