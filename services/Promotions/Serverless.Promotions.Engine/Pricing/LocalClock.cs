namespace Serverless.Promotions.Engine.Pricing;

/// <summary>The priced instant as wall-clock time per time zone, converted once per zone per calculation (many promotions share a zone).</summary>
internal sealed class LocalClock(DateTimeOffset at)
{
    private readonly List<(TimeZoneInfo Zone, DateTime Local)> _converted = [];

    public DateTime LocalTime(TimeZoneInfo zone)
    {
        foreach (var (known, local) in _converted)
        {
            if (ReferenceEquals(known, zone))
            {
                return local;
            }
        }

        var converted = TimeZoneInfo.ConvertTime(at, zone).DateTime;
        _converted.Add((zone, converted));
        return converted;
    }
}
