using System.Globalization;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Triggers;

/// <summary>
/// One platform timer (every 5 s) for every pipeline schedule: it starts each run whose occurrence has come, and
/// after downtime exactly one catch-up run marked <c>trigger.pastDue</c>, however many occurrences were missed.
/// The schedule's mark is written with its ETag in the run's own transaction, so an occurrence starts one run even
/// with several instances.
/// </summary>
public sealed class ScheduleTimer(DefinitionStore definitions, RunStore runs, IStateStore state, TimeProvider time) : ITimerFunction
{
    public const string Name = "pipelines-schedules";
    public const string Schedule = "*/5 * * * * *";

    /// <summary>An occurrence later than this is a catch-up (the timer itself fires every 5 s).</summary>
    private static readonly TimeSpan PastDueAfter = TimeSpan.FromSeconds(30);

    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await foreach (var pipeline in definitions.LatestAsync(cancellationToken).ConfigureAwait(false))
        {
            var schedules = pipeline.Definition.Triggers.OfType<ScheduleTrigger>().ToList();
            for (var i = 0; i < schedules.Count; i++)
            {
                await CheckAsync(pipeline, schedules[i], i, now, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task CheckAsync(StoredPipeline pipeline, ScheduleTrigger trigger, int index, DateTimeOffset now, CancellationToken cancellationToken)
    {
        CronSchedule schedule;
        try
        {
            schedule = CronSchedule.Parse($"{pipeline.Name}-{index}", trigger.Cron, trigger.TimeZone);
        }
        catch (ServerlessConfigurationException)
        {
            return;
        }

        var key = StateKeys.Join("pipelines", "schedule", pipeline.Name, index.ToString(CultureInfo.InvariantCulture));
        var mark = await state.GetJsonAsync<ScheduleMark>(key, cancellationToken).ConfigureAwait(false);
        if (mark is null || mark.Value.Cron != trigger.Cron || mark.Value.TimeZone != trigger.TimeZone)
        {
            // A new or changed schedule counts from now: nothing was missed before it existed.
            var fresh = new ScheduleMark(trigger.Cron, trigger.TimeZone, now);
            await state.SaveJsonAsync(key, fresh, mark is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: mark.ETag), cancellationToken).ConfigureAwait(false);
            return;
        }

        var next = schedule.GetNextOccurrence(mark.Value.LastOccurrence);
        if (next > now)
        {
            return;
        }

        // Skip to the latest occurrence that has come: one run stands for all that were missed.
        var latest = next;
        for (var guard = 0; guard < 100_000; guard++)
        {
            var after = schedule.GetNextOccurrence(latest);
            if (after > now)
            {
                break;
            }

            latest = after;
        }

        var pastDue = latest != next || now - latest > PastDueAfter;
        var context = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["kind"] = "schedule",
            ["cron"] = trigger.Cron,
            ["scheduledTime"] = latest.ToString("O", CultureInfo.InvariantCulture),
            ["pastDue"] = pastDue,
        };
        var updated = new ScheduleMark(trigger.Cron, trigger.TimeZone, latest);
        var started = await runs.StartAsync(pipeline, new Dictionary<string, string?>(), context, t => t.UpsertJson(key, updated, new StateWriteOptions(ETag: mark.ETag)), cancellationToken).ConfigureAwait(false);
        if (started.Problems.Count > 0)
        {
            // A required parameter without a default: the occurrence cannot start a run, but it has passed; do not
            // try it again every 5 s.
            try
            {
                await state.SaveJsonAsync(key, updated, new StateWriteOptions(ETag: mark.ETag), cancellationToken).ConfigureAwait(false);
            }
            catch (ETagMismatchException)
            {
                // Another instance moved the mark on.
            }
        }
    }
}
