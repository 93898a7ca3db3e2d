using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Parsing;

/// <summary>A parsed and validated document: <see cref="Definition"/> is set only when there are no <see cref="Problems"/>.</summary>
public sealed record PipelineParseResult(PipelineDefinition? Definition, IReadOnlyList<PipelineProblem> Problems)
{
    public bool IsValid => Definition is not null && Problems.Count == 0;

    /// <summary>The <c>name</c> the document gives, when it could be read, even if the document has problems.</summary>
    public string? DocumentName { get; init; }
}
