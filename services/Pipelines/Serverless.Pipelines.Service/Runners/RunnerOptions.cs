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

    /// <summary>
    /// How often a running step looks at its run's stop note to notice a cancel or a timeout decided by the orchestrator
    /// (<c>Pipelines:Runner:CancelPollInterval</c>); it reads the run itself when the note changed.
    /// </summary>
    public TimeSpan CancelPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How often a running step reads its whole run even though the stop note did not change
    /// (<c>Pipelines:Runner:RunCheckInterval</c>): a second line behind the note.
    /// </summary>
    public TimeSpan RunCheckInterval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a runner's claim on a running attempt holds without renewal (<c>Pipelines:Runner:LeaseSeconds</c>); it
    /// renews every third of it. A runner that dies is noticed this long after its last renewal at most.
    /// </summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How many steps run at once in this process (<c>Pipelines:Runner:Slots</c>).</summary>
    public int Slots { get; init; } = 16;

    /// <summary>
    /// The most UTF-8 bytes (names and values) one attempt may report as outputs (<c>Pipelines:Runner:MaxOutputBytes</c>,
    /// default 64 KiB); over it the attempt fails with an error naming the cap.
    /// </summary>
    public int MaxOutputBytes { get; init; } = Serverless.Pipelines.Runs.StepOutputLimit.DefaultMaxBytes;

    /// <summary>
    /// This process's name in the leases it holds (<c>Serverless:InstanceId</c>; null: host name and process id). A random
    /// suffix tells the process's incarnations apart, so a restarted runner never takes an earlier one's lease for its own.
    /// </summary>
    public string? InstanceName { get; init; }

    public TimeSpan LeaseRenewalInterval => LeaseDuration / 3;
}
