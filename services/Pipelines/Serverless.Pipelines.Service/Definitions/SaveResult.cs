using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Service.Definitions;

/// <summary>A saved version, or every problem that kept the document from being saved.</summary>
public sealed record SaveResult(StoredPipeline? Saved, IReadOnlyList<PipelineProblem> Problems)
{
    public bool Succeeded => Saved is not null;
}
