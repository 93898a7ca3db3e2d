using NCrontab;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// A timer's schedule: an NCrontab expression with seconds ("sec min hour day month weekday"), as Azure
/// Functions timer triggers use, read on the wall clock of a time zone.
/// </summary>
/// <remarks>
/// Daylight-saving rules: a wall-clock time skipped by a spring-forward jump fires at the instant the
/// clocks jump (once, however many occurrences fell in the gap), so a daily job never loses a day; a
/// wall-clock time that happens twice in a fall-back hour fires once, at its first instance.
/// </remarks>
public sealed class CronSchedule
{
    /// <summary>An expression that fires less often than this never fires in practice, and is refused.</summary>
    private static readonly TimeSpan LongestGap = TimeSpan.FromDays(366 * 28);

    private static readonly CrontabSchedule.ParseOptions WithSeconds = new() { IncludingSeconds = true };

    private readonly CrontabSchedule _crontab;

    private CronSchedule(string expression, CrontabSchedule crontab, TimeZoneInfo timeZone)
    {
        Expression = expression;
        _crontab = crontab;
        TimeZone = timeZone;
    }

    public string Expression { get; }

    public TimeZoneInfo TimeZone { get; }

    /// <summary>
    /// Parses and validates a schedule. Throws <see cref="ServerlessConfigurationException"/> naming the
    /// timer and the expression when the expression, or the time zone, is not usable.
    /// </summary>
    public static CronSchedule Parse(string timerName, string expression, string timeZone = "UTC")
    {
        ArgumentNullException.ThrowIfNull(timerName);
        var setting = $"Timers:{timerName}";
        if (string.IsNullOrWhiteSpace(expression))
        {
            throw new ServerlessConfigurationException(setting, $"timer '{timerName}' has no schedule: give a 6-field cron expression with seconds, \"sec min hour day month weekday\", e.g. \"0 */5 * * * *\".");
        }

        var zone = FindTimeZone(timerName, timeZone, setting);
        var normalised = string.Join(' ', expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        var (crontab, error) = CrontabSchedule.TryParse<(CrontabSchedule? Schedule, Exception? Error)>(normalised, WithSeconds, parsed => (parsed, null), failure => (null, failure()));
        if (crontab is null)
        {
            throw new ServerlessConfigurationException(
                setting,
                $"timer '{timerName}' has the schedule \"{expression}\", which is not a valid 6-field cron expression with seconds (\"sec min hour day month weekday\", e.g. \"0 */5 * * * *\"): {error?.Message}",
                error);
        }

        var probe = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Unspecified);
        if (crontab.GetNextOccurrence(probe, probe + LongestGap) >= probe + LongestGap)
        {
            throw new ServerlessConfigurationException(setting, $"timer '{timerName}' has the schedule \"{expression}\", which never fires (no date matches it).");
        }

        return new CronSchedule(normalised, crontab, zone);
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/>, as a UTC instant.</summary>
    public DateTimeOffset GetNextOccurrence(DateTimeOffset after)
    {
        var afterUtc = after.ToUniversalTime();
        if (TimeZone == TimeZoneInfo.Utc)
        {
            return new DateTimeOffset(NextWallClock(afterUtc.DateTime), TimeSpan.Zero);
        }

        // Walk the wall clock; an occurrence can map to an instant not after `after` only around a
        // DST change (a gap folds onto the jump, a repeated hour maps to its first pass), so skip those.
        var cursor = TimeZoneInfo.ConvertTime(afterUtc, TimeZone).DateTime;
        for (var step = 0; step < 100_000; step++)
        {
            var wallClock = NextWallClock(cursor);
            var instant = ToInstant(wallClock);
            if (instant > afterUtc)
            {
                return instant;
            }

            cursor = wallClock;
        }

        throw new InvalidOperationException($"No occurrence of \"{Expression}\" in {TimeZone.Id} found after {after:O}.");
    }

    public override string ToString() => TimeZone == TimeZoneInfo.Utc ? Expression : $"{Expression} ({TimeZone.Id})";

    private DateTime NextWallClock(DateTime after)
    {
        var wallClock = DateTime.SpecifyKind(after, DateTimeKind.Unspecified);
        var limit = wallClock + LongestGap;
        var next = _crontab.GetNextOccurrence(wallClock, limit);
        return next < limit ? next : throw new InvalidOperationException($"No occurrence of \"{Expression}\" found after {after:O}.");
    }

    private DateTimeOffset ToInstant(DateTime wallClock)
    {
        if (TimeZone.IsInvalidTime(wallClock))
        {
            return EndOfGap(wallClock);
        }

        if (TimeZone.IsAmbiguousTime(wallClock))
        {
            // The larger offset is the first pass through the repeated hour.
            var offset = TimeZone.GetAmbiguousTimeOffsets(wallClock).Max();
            return new DateTimeOffset(wallClock, offset).ToUniversalTime();
        }

        return new DateTimeOffset(wallClock, TimeZone.GetUtcOffset(wallClock)).ToUniversalTime();
    }

    /// <summary>The instant the clocks jumped over <paramref name="skipped"/>: the first instant whose wall clock is later.</summary>
    private DateTimeOffset EndOfGap(DateTime skipped)
    {
        // UTC offsets lie within -12h..+14h, so the jump lies within this window; search it to the second.
        var asUtc = DateTime.SpecifyKind(skipped, DateTimeKind.Utc);
        var low = asUtc.AddHours(-14);
        var high = asUtc.AddHours(12);
        while (high - low > TimeSpan.FromSeconds(1))
        {
            var middle = low + ((high - low) / 2);
            if (TimeZoneInfo.ConvertTimeFromUtc(middle, TimeZone) > skipped)
            {
                high = middle;
            }
            else
            {
                low = middle;
            }
        }

        // Transitions fall on whole seconds; round the bracket's upper end down onto one.
        var ticks = high.Ticks - (high.Ticks % TimeSpan.TicksPerSecond);
        var jump = new DateTime(ticks, DateTimeKind.Utc);
        return new DateTimeOffset(TimeZoneInfo.ConvertTimeFromUtc(jump, TimeZone) > skipped ? jump : jump.AddSeconds(1), TimeSpan.Zero);
    }

    private static TimeZoneInfo FindTimeZone(string timerName, string timeZone, string setting)
    {
        if (string.IsNullOrWhiteSpace(timeZone))
        {
            throw new ServerlessConfigurationException(setting, $"timer '{timerName}' has an empty time zone: give an IANA id such as \"Europe/Berlin\", or \"UTC\".");
        }

        if (string.Equals(timeZone, "UTC", StringComparison.OrdinalIgnoreCase))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(timeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new ServerlessConfigurationException(setting, $"timer '{timerName}' names the time zone \"{timeZone}\", which this machine does not know: give an IANA id such as \"Europe/Berlin\", or \"UTC\".", ex);
        }
    }
}
