using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

public class TimerFiringRulesTests
{
    private static readonly TimeSpan Threshold = TimeSpan.FromSeconds(15);
    private static readonly CronSchedule EveryMinute = CronSchedule.Parse("t", "0 * * * * *");
    private static readonly DateTimeOffset Noon = new(2025, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void An_on_time_firing_is_not_past_due_and_names_the_next_occurrence()
    {
        var pending = new PendingOccurrence(Noon, Noon.AddMinutes(-1), IsCatchUp: false);
        var info = TimerFiringRules.Describe("t", EveryMinute, pending, Noon.AddMilliseconds(40), Threshold);
        Assert.Equal(new TimerInfo("t", Noon, false, Noon.AddMinutes(-1), Noon.AddMinutes(1)), info);
    }

    [Fact]
    public void A_firing_later_than_the_threshold_is_past_due()
    {
        var pending = new PendingOccurrence(Noon, null, IsCatchUp: false);
        Assert.False(TimerFiringRules.Describe("t", EveryMinute, pending, Noon + Threshold, Threshold).IsPastDue);
        Assert.True(TimerFiringRules.Describe("t", EveryMinute, pending, Noon + Threshold + TimeSpan.FromMilliseconds(1), Threshold).IsPastDue);
    }

    [Fact]
    public void A_catch_up_is_past_due_however_small_the_delay()
    {
        var pending = new PendingOccurrence(Noon, null, IsCatchUp: true);
        Assert.True(TimerFiringRules.Describe("t", EveryMinute, pending, Noon.AddMilliseconds(1), Threshold).IsPastDue);
    }

    [Fact]
    public void After_an_overrun_one_firing_stands_for_every_missed_occurrence_and_the_schedule_resumes_from_it()
    {
        // The run for 12:00 lasted until 12:03:30: 12:01, 12:02 and 12:03 passed meanwhile.
        var first = TimerFiringRules.Describe("t", EveryMinute, new PendingOccurrence(Noon, null, false), Noon, Threshold);
        var pending = TimerFiringRules.After(first);
        Assert.Equal(Noon.AddMinutes(1), pending.Occurrence);

        var late = TimerFiringRules.Describe("t", EveryMinute, pending, Noon.AddMinutes(3).AddSeconds(30), Threshold);
        Assert.Equal(Noon.AddMinutes(1), late.ScheduledTime);
        Assert.True(late.IsPastDue);
        Assert.Equal(Noon, late.Last);
        Assert.Equal(Noon.AddMinutes(4), late.Next);
    }

    [Fact]
    public void A_timer_without_status_starts_at_the_next_occurrence_from_now()
    {
        var pending = TimerFiringRules.Resume(null, EveryMinute, Noon.AddSeconds(10));
        Assert.Equal(new PendingOccurrence(Noon.AddMinutes(1), null, false), pending);
    }

    [Fact]
    public void A_remembered_occurrence_that_passed_while_stopped_is_one_catch_up()
    {
        var status = new TimerScheduleStatus("0 * * * * *", "UTC", Noon.AddMinutes(-1), Noon, Noon.AddMinutes(-1));
        var pending = TimerFiringRules.Resume(status, EveryMinute, Noon.AddHours(3));
        Assert.Equal(new PendingOccurrence(Noon, Noon.AddMinutes(-1), true), pending);
    }

    [Fact]
    public void A_remembered_occurrence_still_ahead_is_simply_awaited()
    {
        var status = new TimerScheduleStatus("0 * * * * *", "UTC", Noon.AddMinutes(-1), Noon, Noon.AddMinutes(-1));
        Assert.Equal(new PendingOccurrence(Noon, Noon.AddMinutes(-1), false), TimerFiringRules.Resume(status, EveryMinute, Noon.AddSeconds(-5)));
    }

    [Theory]
    [InlineData("0 0 * * * *", "UTC")]
    [InlineData("0 * * * * *", "Europe/Berlin")]
    public void A_changed_schedule_or_time_zone_drops_the_old_pending_occurrence(string oldSchedule, string oldZone)
    {
        var status = new TimerScheduleStatus(oldSchedule, oldZone, Noon.AddHours(-1), Noon, Noon.AddHours(-1));
        var pending = TimerFiringRules.Resume(status, EveryMinute, Noon.AddHours(3).AddSeconds(1));
        Assert.Equal(new PendingOccurrence(Noon.AddHours(3).AddMinutes(1), Noon.AddHours(-1), false), pending);
    }
}
