namespace Serverless.Promotions.Engine.Pricing;

/// <summary>The priced instant as wall-clock time per time zone, converted once per zone per calculation (many promotions share a zone).</summary>
internal sealed class LocalClock(DateTimeOffset at)
{
    // A basket's promotions rarely use more than one zone with day parts: the first is kept in fields, so a
    // calculation allocates no list unless it meets a second zone.
    private TimeZoneInfo? _firstZone;
    private DateTime _firstLocal;
    private List<(TimeZoneInfo Zone, DateTime Local)>? _more;

    public DateTime LocalTime(TimeZoneInfo zone)
    {
        if (ReferenceEquals(_firstZone, zone))
        {
            return _firstLocal;
        }

        if (_more is not null)
        {
            foreach (var (known, local) in _more)
            {
                if (ReferenceEquals(known, zone))
                {
                    return local;
                }
            }
        }

        var converted = TimeZoneInfo.ConvertTime(at, zone).DateTime;
        if (_firstZone is null)
        {
            (_firstZone, _firstLocal) = (zone, converted);
        }
        else
        {
            (_more ??= []).Add((zone, converted));
        }

        return converted;
    }
}
