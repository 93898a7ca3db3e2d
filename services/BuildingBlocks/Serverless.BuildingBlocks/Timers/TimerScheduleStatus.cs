namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// What the embedded engine remembers about a timer between runs of the process (state key
/// <c>timers||{name}</c>), so that an occurrence missed while it was down fires once on restart.
/// </summary>
/// <param name="Schedule">The expression <see cref="Next"/> was computed from; a different one means the schedule changed.</param>
/// <param name="TimeZone">The time zone id <see cref="Next"/> was computed in.</param>
/// <param name="Last">The occurrence most recently fired, if any.</param>
/// <param name="Next">The occurrence expected to fire next.</param>
/// <param name="LastUpdated">When this status was written.</param>
internal sealed record TimerScheduleStatus(string Schedule, string TimeZone, DateTimeOffset? Last, DateTimeOffset Next, DateTimeOffset LastUpdated);
