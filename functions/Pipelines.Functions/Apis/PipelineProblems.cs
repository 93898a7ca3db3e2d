using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Functions.Apis;

/// <summary>Pipeline problems as RFC 9457 problem+json with <c>errors</c> keyed by document path (<c>steps[3].needs[0]</c>).</summary>
internal static class PipelineProblems
{
    public static ValidationProblem ToValidationProblem(IEnumerable<PipelineProblem> problems) =>
        TypedResults.ValidationProblem(problems
            .GroupBy(p => p.Path, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(p => p.Line is { } line ? $"{p.Message} (line {line})" : p.Message).ToArray(), StringComparer.Ordinal));
}
