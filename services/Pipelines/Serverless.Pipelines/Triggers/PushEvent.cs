namespace Serverless.Pipelines.Triggers;

/// <summary>A push as a source-control webhook reports it: <see cref="Ref"/> like <c>refs/heads/main</c>, paths relative to the repository root.</summary>
public sealed record PushEvent(string Repository, string Ref, IReadOnlyList<string> ChangedPaths);
