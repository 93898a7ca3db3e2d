namespace Serverless.Promotions.Engine.Definitions;

/// <summary>
/// When a promotion runs, in its own IANA time zone. Start and end are wall-clock times in that zone (a store's
/// "Saturday 09:00" stays 09:00 across DST); day parts are wall-clock windows on given weekdays.
/// </summary>
public sealed record PromotionValidity
{
    public string TimeZone { get; init; } = "UTC";

    /// <summary>Inclusive local start; null = open.</summary>
    public DateTime? Start { get; init; }

    /// <summary>Exclusive local end; null = open.</summary>
    public DateTime? End { get; init; }

    /// <summary>Empty = all day every day. Otherwise the instant must fall in at least one.</summary>
    public IReadOnlyList<DayPart> DayParts { get; init; } = [];

    /// <summary>
    /// <see cref="Start"/> and <see cref="End"/> as the instants at which the engine starts and stops applying the
    /// promotion (null = open), by <see cref="ToInstant"/>. Schedulers (lifecycle timers) use this so they agree with
    /// calculate to the second. Throws when <see cref="TimeZone"/> is unknown (validation reports that first).
    /// </summary>
    public (DateTimeOffset? Start, DateTimeOffset? End) Instants()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
        return (Start is { } start ? ToInstant(start, zone) : null, End is { } end ? ToInstant(end, zone) : null);
    }

    /// <summary>
    /// Local wall-clock time in <paramref name="zone"/> to an instant. A time skipped by a spring-forward gap moves
    /// forward by the gap (02:30 on the change day means 03:30 summer time); an ambiguous fall-back time means its first
    /// (daylight) occurrence.
    /// </summary>
    public static DateTimeOffset ToInstant(DateTime local, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        if (zone.IsInvalidTime(unspecified))
        {
            // Read the skipped time with the offset in force before the gap: that lands the same distance past the gap.
            return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified.AddDays(-1)));
        }

        if (zone.IsAmbiguousTime(unspecified))
        {
            var offsets = zone.GetAmbiguousTimeOffsets(unspecified);
            return new DateTimeOffset(unspecified, offsets.Max());
        }

        return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified));
    }
}

/// <summary>A recurring wall-clock window, e.g. Saturday and Sunday 10:00–14:00. A window whose end is not after its start runs past midnight into the next day.</summary>
public sealed record DayPart(IReadOnlyList<DayOfWeek> Days, TimeOnly From, TimeOnly To);
