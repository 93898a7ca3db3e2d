namespace Serverless.Pipelines.Definitions;

/// <summary>Deploys <see cref="Version"/> (a template) to <see cref="Target"/> with <see cref="Strategy"/>.</summary>
public sealed record DeployStep : StepSpec
{
    public required DeployTarget Target { get; init; }

    public required string Version { get; init; }

    public DeployStrategy Strategy { get; init; } = new RollingStrategy();

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "deploy";

    public override IEnumerable<(string Path, string Template)> Templates()
    {
        yield return ("version", Version);
        yield return ("target.deployUrl", Target.DeployUrl);
        if (Target.HealthUrl is not null)
        {
            yield return ("target.healthUrl", Target.HealthUrl);
        }

        foreach (var header in Target.Headers)
        {
            yield return ($"target.headers.{header.Key}", header.Value);
        }

        if (Strategy is BlueGreenStrategy { HealthCheck: { } healthCheck })
        {
            yield return ("strategy.healthCheck", healthCheck);
        }
    }
}
