using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Http;

/// <summary>
/// The <c>limit</c> of a list: 1 to <see cref="StateKeys.MaxPageSize"/>, <see cref="Default"/> when absent. (A bad
/// <c>cursor</c> needs no check here: the store's <see cref="InvalidContinuationTokenException"/> is a 400 keyed
/// <c>cursor</c> on every API through <see cref="ProblemMapping"/>.)
/// </summary>
public static class PageLimit
{
    public const int Default = 100;

    /// <summary>A 400 problem keyed <c>limit</c>, or null when it is absent or fine.</summary>
    public static ValidationProblem? Problem(int? limit) =>
        limit is < 1 or > StateKeys.MaxPageSize
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"Use 1-{StateKeys.MaxPageSize}."] })
            : null;
}
