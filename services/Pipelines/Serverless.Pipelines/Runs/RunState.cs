using System.Collections.Immutable;

namespace Serverless.Pipelines.Runs;

/// <summary>
/// Everything the state machine knows about one run. Immutable: <see cref="RunStateMachine.Apply"/> returns a
/// new state, so the host can store old and new side by side and replay events in tests.
/// </summary>
public sealed record RunState
{
    public required string RunId { get; init; }

    public RunStatus Status { get; init; } = RunStatus.Queued;

    public ImmutableDictionary<string, StepRun> Steps { get; init; } = ImmutableDictionary<string, StepRun>.Empty;

    public IReadOnlyDictionary<string, object?> Parameters { get; init; } = new Dictionary<string, object?>();

    /// <summary>What started the run (kind, ref, repository, actor...), readable as <c>trigger.*</c>.</summary>
    public IReadOnlyDictionary<string, object?> Trigger { get; init; } = new Dictionary<string, object?>();

    public bool CancelRequested { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>How many times the run was retried or rerun (0 for the first pass).</summary>
    public int Generation { get; init; }

    public StepRun Step(string id) => Steps[id];
}
