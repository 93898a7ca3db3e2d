using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class TimeWindowTests
{
    private static readonly Basket Basket = Given.Basket(Line("1", "a", 1, 100m));

    private static bool AppliesAt(PromotionValidity validity, string instant)
    {
        var promotion = Item("p", new Reward.PercentOffItems(10m)) with { Validity = validity };
        var result = Price(Basket, new PricingContext(DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture)), null, promotion);
        if (!result.Outcome("p").Applied)
        {
            Assert.Equal(OutcomeReason.OutsideWindow, result.Outcome("p").Reason);
        }

        return result.Outcome("p").Applied;
    }

    [Theory]
    [InlineData("2027-03-14T02:30:00", "2027-03-14T07:30:00Z")] // in the spring-forward gap: forward by the gap, 03:30 EDT
    [InlineData("2027-03-14T01:59:00", "2027-03-14T06:59:00Z")] // just before the gap, EST
    [InlineData("2027-11-07T01:30:00", "2027-11-07T05:30:00Z")] // ambiguous: the first (EDT) occurrence
    [InlineData("2027-11-07T02:00:00", "2027-11-07T07:00:00Z")] // after the fall-back, EST
    public void Validity_instants_are_where_the_engine_starts_applying(string local, string instant)
    {
        var validity = new PromotionValidity { TimeZone = "America/New_York", Start = DateTime.Parse(local, System.Globalization.CultureInfo.InvariantCulture) };
        var expected = DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(expected, validity.Instants().Start);
        Assert.Null(validity.Instants().End);
        Assert.False(AppliesAt(validity, expected.AddSeconds(-1).ToString("O")));
        Assert.True(AppliesAt(validity, expected.ToString("O")));
    }

    [Theory]
    [InlineData("2026-06-13T13:59:59Z", false)] // Saturday 09:59:59 EDT
    [InlineData("2026-06-13T14:00:00Z", true)] // Saturday 10:00 EDT
    [InlineData("2026-06-14T17:59:00Z", true)] // Sunday 13:59 EDT
    [InlineData("2026-06-14T18:00:00Z", false)] // Sunday 14:00 EDT
    [InlineData("2026-06-15T15:00:00Z", false)] // Monday 11:00 EDT
    [InlineData("2026-01-10T15:00:00Z", true)] // Saturday 10:00 EST (winter: UTC-5)
    [InlineData("2026-01-10T14:30:00Z", false)] // Saturday 09:30 EST
    public void Weekend_day_part_is_wall_clock_time_in_the_promotion_zone(string instant, bool applies)
    {
        var validity = new PromotionValidity
        {
            TimeZone = "America/New_York",
            DayParts = [new DayPart([DayOfWeek.Saturday, DayOfWeek.Sunday], new TimeOnly(10, 0), new TimeOnly(14, 0))],
        };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }

    [Theory]
    [InlineData("2026-03-28T23:59:00Z", false)] // 00:59 CET
    [InlineData("2026-03-29T00:00:00Z", true)] // 01:00 CET
    [InlineData("2026-03-29T00:59:00Z", true)] // 01:59 CET, one minute before the jump
    [InlineData("2026-03-29T01:00:00Z", true)] // 03:00 CEST: 02:00–02:59 never happened
    [InlineData("2026-03-29T01:59:00Z", true)] // 03:59 CEST
    [InlineData("2026-03-29T02:00:00Z", false)] // 04:00 CEST: the 01:00–04:00 window lasted two real hours
    public void Day_part_straddling_the_Berlin_spring_forward_follows_the_wall_clock(string instant, bool applies)
    {
        var validity = new PromotionValidity
        {
            TimeZone = "Europe/Berlin",
            DayParts = [new DayPart([DayOfWeek.Sunday], new TimeOnly(1, 0), new TimeOnly(4, 0))],
        };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }

    [Theory]
    [InlineData("2026-03-29T01:29:00Z", false)] // 03:29 CEST
    [InlineData("2026-03-29T01:30:00Z", true)] // 03:30 CEST: a start at the skipped 02:30 moves past the gap
    public void A_start_inside_the_spring_forward_gap_moves_forward_by_the_gap(string instant, bool applies)
    {
        var validity = new PromotionValidity { TimeZone = "Europe/Berlin", Start = new DateTime(2026, 3, 29, 2, 30, 0) };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }

    [Theory]
    [InlineData("2026-10-25T00:29:00Z", true)] // 02:29 CEST
    [InlineData("2026-10-25T00:30:00Z", false)] // 02:30 CEST: an ambiguous end means its first occurrence
    [InlineData("2026-10-25T01:15:00Z", false)] // 02:15 CET, the repeated hour
    public void An_end_in_the_autumn_repeated_hour_means_its_first_occurrence(string instant, bool applies)
    {
        var validity = new PromotionValidity { TimeZone = "Europe/Berlin", End = new DateTime(2026, 10, 25, 2, 30, 0) };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }

    [Theory]
    [InlineData("2026-06-09T14:59:59Z", false)] // 23:59:59 on the 9th in Tokyo
    [InlineData("2026-06-09T15:00:00Z", true)] // midnight on the 10th in Tokyo
    [InlineData("2026-06-12T14:59:59Z", true)]
    [InlineData("2026-06-12T15:00:00Z", false)] // end is exclusive
    public void Start_and_end_are_local_to_the_promotion_zone(string instant, bool applies)
    {
        var validity = new PromotionValidity { TimeZone = "Asia/Tokyo", Start = new DateTime(2026, 6, 10, 0, 0, 0), End = new DateTime(2026, 6, 13, 0, 0, 0) };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }

    [Theory]
    [InlineData("2026-06-12T21:30:00Z", true)] // Friday 23:30 London (BST)
    [InlineData("2026-06-13T00:30:00Z", true)] // Saturday 01:30: still Friday's late window
    [InlineData("2026-06-13T01:00:00Z", false)] // Saturday 02:00
    [InlineData("2026-06-13T21:30:00Z", false)] // Saturday 22:30: not a Friday
    public void A_day_part_past_midnight_belongs_to_the_day_it_starts(string instant, bool applies)
    {
        var validity = new PromotionValidity
        {
            TimeZone = "Europe/London",
            DayParts = [new DayPart([DayOfWeek.Friday], new TimeOnly(22, 0), new TimeOnly(2, 0))],
        };

        Assert.Equal(applies, AppliesAt(validity, instant));
    }
}
