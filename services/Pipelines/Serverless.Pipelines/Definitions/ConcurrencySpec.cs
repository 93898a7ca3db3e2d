namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Runs whose resolved <see cref="Group"/> is equal share one lane: at most one runs and one waits (see
/// <see cref="Concurrency.ConcurrencyGroups"/>). The group is a template, e.g. <c>deploy-${{ parameters.env }}</c>.
/// </summary>
public sealed record ConcurrencySpec
{
    public required string Group { get; init; }

    /// <summary>A new run cancels the running one instead of waiting behind it.</summary>
    public bool CancelInProgress { get; init; }
}
