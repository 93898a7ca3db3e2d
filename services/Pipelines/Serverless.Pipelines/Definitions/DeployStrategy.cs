using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>How a deploy replaces the running version; <see cref="Deployments.DeployPlanner"/> turns it into operations.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(RollingStrategy), "rolling")]
[JsonDerivedType(typeof(BlueGreenStrategy), "blue-green")]
[JsonDerivedType(typeof(CanaryStrategy), "canary")]
public abstract record DeployStrategy;

/// <summary><see cref="BatchSize"/> instances at a time, each batch health-checked before the next.</summary>
public sealed record RollingStrategy : DeployStrategy
{
    public int BatchSize { get; init; } = 1;

    public int Instances { get; init; } = 1;
}

/// <summary>Deploy to the idle slot, health-check it, switch traffic, keep the old slot as standby for rollback.</summary>
public sealed record BlueGreenStrategy : DeployStrategy
{
    /// <summary>A health URL (template) for the idle slot; the target's health URL when null.</summary>
    public string? HealthCheck { get; init; }
}

/// <summary>
/// Shift traffic to the new version in <see cref="Steps"/> percentages (the last must be 100), health-checking
/// each and, between steps, pausing for <see cref="Pause"/> or waiting for an approval.
/// </summary>
public sealed record CanaryStrategy : DeployStrategy
{
    public IReadOnlyList<int> Steps { get; init; } = [10, 50, 100];

    public TimeSpan? Pause { get; init; }

    public bool Approval { get; init; }

    public IReadOnlyList<string> Approvers { get; init; } = [];
}
