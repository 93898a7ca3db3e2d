using System.Collections.Immutable;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>
/// A run as stored: the state machine's <see cref="RunState"/>, the definition it pinned when it started (editing or
/// deleting the pipeline never changes a run in flight), its pending timers (id → due) and its concurrency group.
/// </summary>
public sealed record RunRecord
{
    public required string RunId { get; init; }

    public required string Pipeline { get; init; }

    public required int Version { get; init; }

    public required PipelineDefinition Definition { get; init; }

    public required RunState State { get; init; }

    public ImmutableDictionary<string, DateTimeOffset> Timers { get; init; } = ImmutableDictionary<string, DateTimeOffset>.Empty;

    public string? ConcurrencyGroup { get; init; }

    public RunSummary Summary() => new(RunId, Pipeline, Version, State.Status, State.CreatedAt, State.StartedAt, State.FinishedAt, State.Trigger.TryGetValue("kind", out var kind) ? kind?.ToString() : null);
}

/// <summary>What run listings show; kept in the per-pipeline index so a listing reads no run records.</summary>
public sealed record RunSummary(string RunId, string Pipeline, int Version, RunStatus Status, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Trigger);
