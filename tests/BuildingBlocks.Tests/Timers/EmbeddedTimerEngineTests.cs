using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>The contract on the embedded engine, its status in a SQLite state store in a temp directory.</summary>
public sealed class EmbeddedTimerEngineTests : TimerEngineContract
{
    private readonly string _directory = Directory.CreateTempSubdirectory("timers-").FullName;

    private string DatabasePath => Path.Combine(_directory, "serverless.db");

    protected override ServerlessProfile Profile => ServerlessProfile.Embedded;

    protected override string ExpectedEngine => "embedded";

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    protected override void AddEngineDependencies(IServiceCollection services)
    {
        // Each node opens the file itself and closes it when disposed, as a restarted process would.
        services.AddSingleton(sp => new SqliteDatabase(DatabasePath, sp.GetRequiredService<ILogger<SqliteDatabase>>()));
        services.AddSingleton<IStateStore>(sp => SqliteStateStore.OpenAsync(sp.GetRequiredService<SqliteDatabase>(), new OutboxSignal()).GetAwaiter().GetResult());
    }

    [Fact]
    public async Task A_status_left_by_an_earlier_run_fires_its_missed_occurrence_once_then_waits_for_the_schedule()
    {
        var schedule = CronSchedule.Parse("daily", "0 0 12 * * *");
        var last = schedule.GetNextOccurrence(DateTimeOffset.UtcNow.AddDays(-4));
        var missed = schedule.GetNextOccurrence(last);
        await WithStoreAsync(store => store.SaveJsonAsync("timers||daily", new TimerScheduleStatus("0 0 12 * * *", "UTC", last, missed, last)));

        var node = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("daily", "0 0 12 * * *"));
        var firing = (await Log.WaitForAsync("daily", f => f.Count >= 1, Patience, "the catch-up firing"))[0];

        Assert.Equal(missed, firing.Info.ScheduledTime);
        Assert.True(firing.Info.IsPastDue);
        Assert.Equal(last, firing.Info.Last);
        Assert.Equal(schedule.GetNextOccurrence(firing.StartedAt.AddSeconds(-1)), firing.Info.Next);

        var store = node.Host.Services.GetRequiredService<IStateStore>();
        var status = await PollAsync(async () => (await store.GetJsonAsync<TimerScheduleStatus>("timers||daily"))?.Value, s => s?.Last == missed);
        Assert.Equal(firing.Info.Next, status!.Next);

        // The other missed days are not fired: one catch-up, not a burst.
        var quietUntil = DateTimeOffset.UtcNow.AddSeconds(1);
        while (DateTimeOffset.UtcNow < quietUntil)
        {
            Assert.Single(Log.All);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }
    }

    [Fact]
    public async Task The_expected_occurrence_is_remembered_before_it_fires_so_a_stop_before_it_still_catches_up()
    {
        var node = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("new-year", Yearly, "Europe/Berlin"));
        var store = node.Host.Services.GetRequiredService<IStateStore>();

        var status = await PollAsync(async () => (await store.GetJsonAsync<TimerScheduleStatus>("timers||new-year"))?.Value, s => s is not null);

        Assert.Equal(CronSchedule.Parse("new-year", Yearly, "Europe/Berlin").GetNextOccurrence(DateTimeOffset.UtcNow), status!.Next);
        Assert.Equal(Yearly, status.Schedule);
        Assert.Equal("Europe/Berlin", status.TimeZone);
        Assert.Null(status.Last);
    }

    private async Task WithStoreAsync(Func<IStateStore, Task> work)
    {
        var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await using (database)
        {
            await work(await SqliteStateStore.OpenAsync(database, new OutboxSignal()));
        }
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> condition)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (true)
        {
            var value = await read();
            if (condition(value))
            {
                return value;
            }

            Assert.True(DateTimeOffset.UtcNow < deadline, $"Timed out; last value read: {value}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
