namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Where a deploy goes. Only <c>http</c> targets exist: the executor POSTs the version to <see cref="DeployUrl"/>
/// and polls <see cref="HealthUrl"/>. Both are templates.
/// </summary>
public sealed record DeployTarget
{
    public string Kind { get; init; } = "http";

    public required string DeployUrl { get; init; }

    public string? HealthUrl { get; init; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();
}
