namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// What the engines run with: the configured past-due threshold plus the clustered scheduler's intervals,
/// which tests shorten to make fail-over quick.
/// </summary>
internal sealed record TimerEngineSettings
{
    /// <summary>A firing that starts later than this after its occurrence is marked past-due.</summary>
    public TimeSpan PastDueThreshold { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How often an idle Quartz node looks for due triggers (bounds how fast another node takes over).</summary>
    public TimeSpan IdleWaitTime { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How often a Quartz node records that it is alive.</summary>
    public TimeSpan CheckinInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long past a missed check-in a node is presumed dead and its firings recovered.</summary>
    public TimeSpan CheckinMisfireThreshold { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How late a Quartz trigger may be before its misfire instruction (fire once, now) takes over from
    /// ordinary acquisition. Either way a late occurrence fires exactly once.
    /// </summary>
    public TimeSpan MisfireThreshold { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How often a Quartz node checks that every timer still has its trigger.</summary>
    public TimeSpan WatchdogInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the embedded engine waits before retrying after the state store failed.</summary>
    public TimeSpan StoreRetryDelay { get; init; } = TimeSpan.FromSeconds(5);
}
