namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// The rules both engines fire by, kept free of I/O: one firing per pending occurrence, missed
/// occurrences collapse into that one firing, and the next occurrence is counted from when a firing
/// actually starts, so a late or long run is followed by exactly one more firing rather than a burst.
/// </summary>
internal static class TimerFiringRules
{
    /// <summary>Describes the firing of <paramref name="pending"/> that starts at <paramref name="firedAt"/>.</summary>
    public static TimerInfo Describe(string name, CronSchedule schedule, PendingOccurrence pending, DateTimeOffset firedAt, TimeSpan pastDueThreshold)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(pending);
        var isPastDue = pending.IsCatchUp || firedAt - pending.Occurrence > pastDueThreshold;
        var from = firedAt > pending.Occurrence ? firedAt : pending.Occurrence;
        return new TimerInfo(name, pending.Occurrence, isPastDue, pending.Last, schedule.GetNextOccurrence(from));
    }

    /// <summary>The occurrence to wait for after <paramref name="fired"/>.</summary>
    public static PendingOccurrence After(TimerInfo fired)
    {
        ArgumentNullException.ThrowIfNull(fired);
        return new PendingOccurrence(fired.Next, fired.ScheduledTime, IsCatchUp: false);
    }

    /// <summary>
    /// Where a timer resumes when the process starts: its remembered next occurrence (a catch-up when
    /// that already passed), or, when it has no status or its schedule changed, the schedule's next
    /// occurrence from now.
    /// </summary>
    public static PendingOccurrence Resume(TimerScheduleStatus? status, CronSchedule schedule, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (status is null)
        {
            return new PendingOccurrence(schedule.GetNextOccurrence(now), null, IsCatchUp: false);
        }

        if (!IsSameSchedule(status, schedule))
        {
            // The old schedule's pending occurrence means nothing under the new one.
            return new PendingOccurrence(schedule.GetNextOccurrence(now), status.Last, IsCatchUp: false);
        }

        return new PendingOccurrence(status.Next, status.Last, IsCatchUp: status.Next <= now);
    }

    public static bool IsSameSchedule(TimerScheduleStatus status, CronSchedule schedule)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(schedule);
        return string.Equals(status.Schedule, schedule.Expression, StringComparison.Ordinal)
            && string.Equals(status.TimeZone, schedule.TimeZone.Id, StringComparison.Ordinal);
    }
}
