using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

public class CronScheduleTests
{
    private static DateTimeOffset Utc(string instant) => DateTimeOffset.Parse(instant, System.Globalization.CultureInfo.InvariantCulture).ToUniversalTime();

    [Theory]
    [InlineData("*/5 * * * *", "6 components")]
    [InlineData("0 0 25 * * *", "Hour")]
    [InlineData("0 0 0 * * FUNDAY", "FUNDAY")]
    public void An_invalid_expression_is_refused_naming_the_timer_and_the_expression(string expression, string detail)
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() => CronSchedule.Parse("nightly-report", expression));
        Assert.Equal("Timers:nightly-report", error.Setting);
        Assert.Contains("'nightly-report'", error.Message, StringComparison.Ordinal);
        Assert.Contains($"\"{expression}\"", error.Message, StringComparison.Ordinal);
        Assert.Contains("sec min hour day month weekday", error.Message, StringComparison.Ordinal);
        Assert.Contains(detail, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void An_expression_that_never_fires_is_refused()
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() => CronSchedule.Parse("leap", "0 0 0 31 2 *"));
        Assert.Contains("never fires", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"0 0 0 31 2 *\"", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void An_empty_expression_is_refused(string expression)
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() => CronSchedule.Parse("empty", expression));
        Assert.Contains("'empty'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_time_zone_is_refused_naming_the_timer_and_the_zone()
    {
        var error = Assert.Throws<ServerlessConfigurationException>(() => CronSchedule.Parse("mars", "0 0 * * * *", "Mars/Olympus_Mons"));
        Assert.Contains("'mars'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Mars/Olympus_Mons", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extra_whitespace_is_normalised()
    {
        Assert.Equal("0 */5 * * * *", CronSchedule.Parse("t", "  0  */5 * *\t* * ").Expression);
    }

    [Theory]
    [InlineData("*/15 * * * * *", "2025-01-10T12:00:07.5Z", "2025-01-10T12:00:15Z")]
    [InlineData("*/15 * * * * *", "2025-01-10T12:00:15Z", "2025-01-10T12:00:30Z")]
    [InlineData("* * * * * *", "2025-01-10T12:00:00.999Z", "2025-01-10T12:00:01Z")]
    [InlineData("0 30 9 * * MON-FRI", "2025-01-10T10:00:00Z", "2025-01-13T09:30:00Z")]
    [InlineData("0 0 0 1 1 *", "2025-06-01T00:00:00Z", "2026-01-01T00:00:00Z")]
    [InlineData("0 0 12 29 2 *", "2025-03-01T00:00:00Z", "2028-02-29T12:00:00Z")]
    public void Next_occurrence_in_utc_is_strictly_after_the_instant(string expression, string after, string expected)
    {
        Assert.Equal(Utc(expected), CronSchedule.Parse("t", expression).GetNextOccurrence(Utc(after)));
    }

    [Theory]
    [InlineData("Europe/Berlin", "2025-01-15T00:00:00Z", "2025-01-15T08:00:00Z")]
    [InlineData("Europe/Berlin", "2025-07-15T00:00:00Z", "2025-07-15T07:00:00Z")]
    [InlineData("America/New_York", "2025-01-15T00:00:00Z", "2025-01-15T14:00:00Z")]
    [InlineData("America/New_York", "2025-07-15T00:00:00Z", "2025-07-15T13:00:00Z")]
    [InlineData("Asia/Kolkata", "2025-07-15T00:00:00Z", "2025-07-15T03:30:00Z")]
    [InlineData("Australia/Sydney", "2025-01-15T00:00:00Z", "2025-01-15T22:00:00Z")]
    public void A_schedule_is_read_on_the_wall_clock_of_its_time_zone(string zone, string after, string expected)
    {
        Assert.Equal(Utc(expected), CronSchedule.Parse("nine", "0 0 9 * * *", zone).GetNextOccurrence(Utc(after)));
    }

    [Fact]
    public void A_local_time_skipped_by_spring_forward_fires_when_the_clocks_jump()
    {
        // Berlin, 2025-03-30: 02:00 CET jumps to 03:00 CEST (01:00Z); 02:30 never happens that day.
        var schedule = CronSchedule.Parse("t", "0 30 2 * * *", "Europe/Berlin");
        var onTheDay = schedule.GetNextOccurrence(Utc("2025-03-29T12:00:00Z"));
        Assert.Equal(Utc("2025-03-30T01:00:00Z"), onTheDay);
        Assert.Equal(Utc("2025-03-31T00:30:00Z"), schedule.GetNextOccurrence(onTheDay));
    }

    [Fact]
    public void Occurrences_inside_the_spring_gap_fold_into_one_firing_and_never_go_backwards()
    {
        var schedule = CronSchedule.Parse("t", "0 */15 * * * *", "Europe/Berlin");
        var fired = Sequence(schedule, Utc("2025-03-30T00:40:00Z"), 3);
        Assert.Equal([Utc("2025-03-30T00:45:00Z"), Utc("2025-03-30T01:00:00Z"), Utc("2025-03-30T01:15:00Z")], fired);
    }

    [Fact]
    public void A_local_time_repeated_by_fall_back_fires_once_at_its_first_instance()
    {
        // Berlin, 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30Z and again at 01:30Z.
        var schedule = CronSchedule.Parse("t", "0 30 2 * * *", "Europe/Berlin");
        var onTheDay = schedule.GetNextOccurrence(Utc("2025-10-25T12:00:00Z"));
        Assert.Equal(Utc("2025-10-26T00:30:00Z"), onTheDay);
        Assert.Equal(Utc("2025-10-27T01:30:00Z"), schedule.GetNextOccurrence(onTheDay));
        Assert.Equal(Utc("2025-10-27T01:30:00Z"), schedule.GetNextOccurrence(Utc("2025-10-26T01:10:00Z")));
    }

    [Fact]
    public void New_york_spring_forward_and_fall_back_behave_the_same_way()
    {
        var schedule = CronSchedule.Parse("t", "0 30 2 * * *", "America/New_York");
        Assert.Equal(Utc("2025-03-09T07:00:00Z"), schedule.GetNextOccurrence(Utc("2025-03-08T12:00:00Z")));
        var fallBack = CronSchedule.Parse("t", "0 30 1 * * *", "America/New_York");
        var first = fallBack.GetNextOccurrence(Utc("2025-11-01T12:00:00Z"));
        Assert.Equal(Utc("2025-11-02T05:30:00Z"), first);
        Assert.Equal(Utc("2025-11-03T06:30:00Z"), fallBack.GetNextOccurrence(first));
    }

    [Fact]
    public void An_hourly_schedule_over_a_dst_year_fires_once_per_wall_clock_hour_and_always_moves_forward()
    {
        var schedule = CronSchedule.Parse("hourly", "0 0 * * * *", "Europe/Berlin");
        var start = Utc("2024-12-31T23:00:00Z");
        var fired = Sequence(schedule, start, 8759);
        Assert.All(fired.Zip(fired.Skip(1)), pair => Assert.True(pair.Second > pair.First));

        // 365 days x 24 wall-clock hours, less the 02:00 that spring-forward folds into 03:00.
        Assert.Equal(Utc("2025-12-31T23:00:00Z"), fired[^1]);
        var gaps = fired.Zip(fired.Skip(1), (a, b) => b - a).Where(gap => gap != TimeSpan.FromHours(1)).ToList();
        Assert.Equal([TimeSpan.FromHours(2)], gaps);
    }

    [Fact]
    public void A_windows_time_zone_id_is_accepted_too()
    {
        var schedule = CronSchedule.Parse("t", "0 0 9 * * *", "W. Europe Standard Time");
        Assert.Equal(Utc("2025-01-15T08:00:00Z"), schedule.GetNextOccurrence(Utc("2025-01-15T00:00:00Z")));
    }

    private static List<DateTimeOffset> Sequence(CronSchedule schedule, DateTimeOffset after, int count)
    {
        var result = new List<DateTimeOffset>(count);
        for (var i = 0; i < count; i++)
        {
            after = schedule.GetNextOccurrence(after);
            result.Add(after);
        }

        return result;
    }
}
