using Serverless.Pipelines.Concurrency;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>The runs in one concurrency group (<c>pipelines||group||{group}</c>), updated with its ETag.</summary>
public sealed record ConcurrencyLane(string Group, IReadOnlyList<GroupRun> Runs);
