namespace Serverless.BuildingBlocks.State;

/// <param name="ContinuationToken">Pass back to get the next page; null when this is the last page.</param>
public sealed record KeyPage(IReadOnlyList<string> Keys, string? ContinuationToken);
