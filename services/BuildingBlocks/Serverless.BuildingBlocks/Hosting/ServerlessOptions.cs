namespace Serverless.BuildingBlocks.Hosting;

public enum ServerlessProfile
{
    /// <summary>One process, nothing to install: MassTransit in-memory + SQLite ledger, SQLite state, in-process timers.</summary>
    Embedded,

    /// <summary>Scale-out: MassTransit on RabbitMQ, PostgreSQL state, Quartz timers clustered on PostgreSQL.</summary>
    Distributed,
}

/// <summary>Bound from the <c>Serverless</c> configuration section (environment: <c>Serverless__Profile</c>, ...).</summary>
public sealed class ServerlessOptions
{
    public const string Section = "Serverless";

    public ServerlessProfile Profile { get; set; } = ServerlessProfile.Embedded;

    /// <summary>Where the embedded profile keeps its SQLite files and the first admin key.</summary>
    public string DataDirectory { get; set; } = ".data";

    /// <summary>Names this process in logs, leases and the clustered scheduler; defaults to host name + process id.</summary>
    public string? InstanceId { get; set; }

    /// <summary>PostgreSQL schema used by the distributed profile (tests use one per run).</summary>
    public string PostgresSchema { get; set; } = "serverless";

    public PubSubOptions PubSub { get; set; } = new();

    public TimerOptions Timers { get; set; } = new();

    public HttpOptions Http { get; set; } = new();

    public string ResolveInstanceId() => InstanceId ?? $"{Environment.MachineName}-{Environment.ProcessId}";
}

public sealed class PubSubOptions
{
    /// <summary>Retries after the first failed attempt before an event is dead-lettered.</summary>
    public int MaxRetries { get; set; } = 5;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromMilliseconds(200);

    public double BackoffMultiplier { get; set; } = 2.0;

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How many events one subscription handles at once in one process.</summary>
    public int ConcurrencyPerSubscription { get; set; } = 16;

    /// <summary>RabbitMQ prefetch per subscription queue.</summary>
    public int PrefetchCount { get; set; } = 64;

    /// <summary>
    /// The first part of every RabbitMQ exchange and queue name (<c>{namespace}.topic.{topic}</c>,
    /// <c>{namespace}.sub.{subscription}</c>); by default the PostgreSQL schema, so two deployments sharing a
    /// broker (or tests, each on its own schema) never consume or receive each other's events.
    /// </summary>
    public string? Namespace { get; set; }

    /// <summary>
    /// How long a committed event for a topic this process does not declare waits in the outbox before it becomes a
    /// dead letter (another instance — a newer version during a rolling deploy — may declare it and publish it meanwhile).
    /// Events that are not CloudEvents at all are dead-lettered at once.
    /// </summary>
    public TimeSpan OutboxUnknownTopicGrace { get; set; } = TimeSpan.FromHours(1);
}

public sealed class TimerOptions
{
    /// <summary>When false, timers are registered but never fire in this process (e.g. a pure HTTP instance).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>An occurrence that fires later than this after its scheduled time is marked past-due.</summary>
    public TimeSpan PastDueThreshold { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class HttpOptions
{
    /// <summary>Largest request body accepted anywhere (413 above); endpoints may set a smaller one.</summary>
    public long MaxRequestBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// How long each /readyz check may take: one that has not answered by then (a store that hangs rather than
    /// refuses) counts as unhealthy, so the probe gets its answer instead of waiting out the store's own timeouts.
    /// </summary>
    public TimeSpan ReadinessTimeout { get; set; } = TimeSpan.FromSeconds(3);
}
