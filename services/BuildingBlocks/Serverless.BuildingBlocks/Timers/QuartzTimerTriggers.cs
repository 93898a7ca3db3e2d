using System.Globalization;
using Quartz;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// How a timer is stored in the clustered Quartz scheduler: one durable job and exactly one one-shot
/// trigger per timer, both keyed by the timer's name. The trigger stands for the next occurrence and
/// carries it (and the one before) in its data, because Quartz's own fire times change on misfire.
/// </summary>
internal static class QuartzTimerTriggers
{
    public const string SchedulerName = "serverless-timers";

    public const string Group = "serverless-timers";

    private const string OccurrenceKey = "occurrence";
    private const string LastKey = "last";
    private const string ScheduleKey = "schedule";
    private const string TimeZoneKey = "timeZone";
    private const string FunctionKey = "function";

    public static JobKey JobKeyOf(string timerName) => new(timerName, Group);

    public static TriggerKey TriggerKeyOf(string timerName) => new(timerName, Group);

    /// <summary>Nodes acquire only the execution groups of timers they registered, so a node never fires a timer whose code it lacks.</summary>
    public static string ExecutionGroupOf(string timerName) => $"timer:{timerName}";

    public static IJobDetail Job(RegisteredTimer timer) =>
        JobBuilder.Create<QuartzTimerJob>()
            .WithIdentity(JobKeyOf(timer.Name))
            .WithDescription($"Timer {timer.Name}: {timer.Schedule}")
            .StoreDurably()
            .DisallowConcurrentExecution()
            .UsingJobData(FunctionKey, timer.Descriptor.FunctionType.FullName ?? timer.Descriptor.FunctionType.Name)
            .Build();

    public static string? FunctionOf(IJobDetail job) => job.JobDataMap.GetString(FunctionKey);

    /// <summary>A one-shot trigger for <paramref name="pending"/>; if it is missed (every node down, or a run overran) it fires once, now.</summary>
    public static ITrigger Trigger(RegisteredTimer timer, PendingOccurrence pending, TimeProvider time)
    {
        var builder = TriggerBuilder.Create(time)
            .WithIdentity(TriggerKeyOf(timer.Name))
            .ForJob(JobKeyOf(timer.Name))
            .WithExecutionGroup(ExecutionGroupOf(timer.Name))
            .StartAt(pending.Occurrence)
            .WithSchedule(SimpleScheduleBuilder.Create().WithRepeatCount(0).WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow))
            .UsingJobData(OccurrenceKey, Format(pending.Occurrence))
            .UsingJobData(ScheduleKey, timer.Schedule.Expression)
            .UsingJobData(TimeZoneKey, timer.Schedule.TimeZone.Id);
        if (pending.Last is { } last)
        {
            builder = builder.UsingJobData(LastKey, Format(last));
        }

        return builder.Build();
    }

    /// <summary>The occurrence a stored trigger stands for, or null when it was not written by this class.</summary>
    public static PendingOccurrence? PendingOf(ITrigger trigger)
    {
        var occurrence = Parse(trigger.JobDataMap.GetString(OccurrenceKey));
        return occurrence is null ? null : new PendingOccurrence(occurrence.Value, Parse(trigger.JobDataMap.GetString(LastKey)), IsCatchUp: false);
    }

    /// <summary>True when the trigger was computed from this schedule and time zone.</summary>
    public static bool HasSchedule(ITrigger trigger, CronSchedule schedule) =>
        string.Equals(trigger.JobDataMap.GetString(ScheduleKey), schedule.Expression, StringComparison.Ordinal)
        && string.Equals(trigger.JobDataMap.GetString(TimeZoneKey), schedule.TimeZone.Id, StringComparison.Ordinal);

    private static string Format(DateTimeOffset instant) => instant.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture);

    private static DateTimeOffset? Parse(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var instant) ? instant : null;
}
