namespace Serverless.Pipelines.Deployments;

/// <summary>
/// What the planner needs besides the strategy: the version to roll out, the version running now (what a
/// rollback restores) and, for blue-green, which slot serves traffic now.
/// </summary>
public sealed record DeployRequest(string Version, string PreviousVersion)
{
    public string ActiveSlot { get; init; } = "blue";

    /// <summary>The instance count the target reports, when it overrides the rolling strategy's <c>instances</c>.</summary>
    public int? Instances { get; init; }
}
