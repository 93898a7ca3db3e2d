namespace Serverless.Pipelines.Service.Definitions;

/// <summary>The pointer to a pipeline's latest version; its ETag serialises concurrent saves.</summary>
public sealed record PipelineHead(string Name, int Version, DateTimeOffset SavedAt);
