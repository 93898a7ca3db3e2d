using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>Validation problems (path, message) as RFC 9457 problem+json with <c>errors</c> keyed by field path.</summary>
internal static class FieldProblems
{
    public static ValidationProblem ToValidationProblem<T>(IEnumerable<T> problems, Func<T, string> path, Func<T, string> message) =>
        TypedResults.ValidationProblem(problems.GroupBy(path).ToDictionary(g => g.Key, g => g.Select(message).ToArray()));
}
