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
}

/// <summary>A recurring wall-clock window, e.g. Saturday and Sunday 10:00–14:00. A window whose end is not after its start runs past midnight into the next day.</summary>
public sealed record DayPart(IReadOnlyList<DayOfWeek> Days, TimeOnly From, TimeOnly To);
