namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// A timer-triggered function with Azure Functions semantics: one firing per occurrence across all
/// instances, never overlapping itself, and after downtime exactly one catch-up firing marked past-due.
/// </summary>
public interface ITimerFunction
{
    Task RunAsync(TimerInfo timer, CancellationToken cancellationToken);
}

/// <param name="Name">The timer's registered name.</param>
/// <param name="ScheduledTime">The occurrence this firing stands for (UTC).</param>
/// <param name="IsPastDue">True when this firing is late: a catch-up after downtime, or a run delayed by the previous one.</param>
/// <param name="Last">The occurrence of the previous firing, if any.</param>
/// <param name="Next">The next occurrence after this one.</param>
public sealed record TimerInfo(string Name, DateTimeOffset ScheduledTime, bool IsPastDue, DateTimeOffset? Last, DateTimeOffset Next);

/// <param name="Name">Unique timer name (also its identity in the clustered scheduler).</param>
/// <param name="Schedule">NCrontab 6-field expression with seconds: "sec min hour day month weekday".</param>
/// <param name="TimeZone">IANA or Windows time zone id the schedule is read in; UTC by default.</param>
public sealed record TimerDescriptor(string Name, string Schedule, string TimeZone, Type FunctionType);
