namespace Serverless.Pipelines.Service.Runners;

/// <summary>Settings under <c>Pipelines:</c>.</summary>
public sealed record RunnerOptions
{
    /// <summary>Where scripts run: one directory per run below it.</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>How often a deploy polls the health URL before it gives up and rolls back.</summary>
    public int HealthCheckAttempts { get; init; } = 10;

    public TimeSpan HealthCheckInterval { get; init; } = TimeSpan.FromSeconds(3);

    public TimeSpan HttpTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a running step looks at its run to notice a cancel or a timeout decided by the orchestrator.</summary>
    public TimeSpan CancelPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
