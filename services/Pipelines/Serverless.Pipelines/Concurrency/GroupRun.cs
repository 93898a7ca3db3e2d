namespace Serverless.Pipelines.Concurrency;

/// <summary>A run already in a concurrency group: running (started) or pending (waiting for the lane).</summary>
public sealed record GroupRun(string RunId, bool IsRunning, DateTimeOffset QueuedAt);
