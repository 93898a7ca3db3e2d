using Serverless.Pipelines.Definitions;

namespace Serverless.Pipelines.Service.Definitions;

/// <summary>One saved version of a pipeline: the document as written (YAML or JSON) and the definition read from it.</summary>
public sealed record StoredPipeline(string Name, int Version, string Format, string Source, PipelineDefinition Definition, DateTimeOffset SavedAt);
