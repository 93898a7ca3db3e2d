namespace Serverless.Pipelines.Concurrency;

/// <summary>What to do with a new run, and which runs to cancel for it.</summary>
public sealed record ConcurrencyDecision(ConcurrencyAction Action, IReadOnlyList<string> Cancel);
