using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Serverless.BuildingBlocks.State;

namespace Serverless.Webhooks.Functions.Apis;

/// <summary>The <c>limit</c> and <c>cursor</c> of the webhooks lists: either is wrong → 400 problem+json keyed by its name.</summary>
internal static class Paging
{
    public const int DefaultLimit = 100;

    /// <summary>A problem with <paramref name="limit"/> (1-1000), or null when it is absent or fine.</summary>
    public static ValidationProblem? LimitProblem(int? limit) =>
        limit is < 1 or > StateKeys.MaxPageSize
            ? TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"Use 1-{StateKeys.MaxPageSize}."] })
            : null;

    /// <summary>The state store refuses a continuation token it did not issue with an <see cref="ArgumentException"/> on <c>token</c>.</summary>
    public static bool IsBadCursor(ArgumentException error) => error.ParamName == "token";

    public static ValidationProblem CursorProblem(ArgumentException error) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["cursor"] = [error.Message] });
}
