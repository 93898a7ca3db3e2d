using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>
/// The behaviour every timer engine must have (Azure Functions timer-trigger semantics); each engine runs
/// this same suite. Schedules fire every second so the suite stays quick.
/// </summary>
public abstract class TimerEngineContract : TimerTestHarness
{
    /// <summary>Timer callbacks may wake a hair before their due time; a firing earlier than this is a bug.</summary>
    private static readonly TimeSpan Early = TimeSpan.FromMilliseconds(50);

    protected abstract string ExpectedEngine { get; }

    [Fact]
    public async Task Fires_every_occurrence_on_time_with_the_occurrence_it_stands_for()
    {
        await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond));

        var firings = (await Log.WaitForAsync("tick", f => f.Count >= 4, Patience, "four firings")).Take(4).ToList();

        AssertChain(firings);
        Assert.Null(firings[0].Info.Last);
        foreach (var firing in firings)
        {
            var info = firing.Info;
            Assert.Equal(0, info.ScheduledTime.Millisecond);
            Assert.Equal(TimeSpan.Zero, info.ScheduledTime.Offset);
            Assert.True(firing.StartedAt >= info.ScheduledTime - Early, $"Fired early:{Environment.NewLine}{FiringLog.Describe([firing])}");
            var lateness = firing.StartedAt - info.ScheduledTime;
            if (lateness < Threshold - TimeSpan.FromMilliseconds(200))
            {
                Assert.False(info.IsPastDue);
                Assert.Equal(info.ScheduledTime.AddSeconds(1), info.Next);
            }
        }

        // On an idle machine every firing is well within the second; allow one straggler under load.
        Assert.True(firings.Count(f => f.StartedAt - f.Info.ScheduledTime < TimeSpan.FromMilliseconds(500)) >= 3, FiringLog.Describe(firings));
    }

    [Fact]
    public async Task A_run_longer_than_the_interval_never_overlaps_and_is_followed_by_exactly_one_late_firing()
    {
        await StartNodeAsync("a", s => s.AddTimer<SlowTimer>("slow", EverySecond));

        var firings = (await Log.WaitForAsync("slow", f => f.Count(x => x.EndedAt is not null) >= 3, Patience, "three finished runs")).Take(3).ToList();

        AssertNoOverlap(firings);
        AssertChain(firings);
        foreach (var (previous, next) in firings.Zip(firings.Skip(1)))
        {
            // Several occurrences passed during the run; one firing stands for them, as soon as the run ends.
            Assert.True(next.Info.ScheduledTime < previous.EndedAt, FiringLog.Describe([previous, next]));
            Assert.True(next.StartedAt - previous.EndedAt!.Value < TimeSpan.FromSeconds(1), FiringLog.Describe([previous, next]));
            Assert.True(next.Info.IsPastDue, FiringLog.Describe([next]));
        }
    }

    [Fact]
    public async Task After_downtime_exactly_one_catch_up_firing_is_marked_past_due()
    {
        var first = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond));
        await Log.WaitForAsync("tick", f => f.Count >= 2, Patience, "two firings before the downtime");
        await first.DisposeAsync();
        var lastBefore = Log.Of("tick")[^1];

        // Stay down until the pending occurrence, and a few after it, are well past the threshold.
        var downUntil = lastBefore.Info.Next + Threshold + TimeSpan.FromSeconds(1);
        await Task.Delay(downUntil - DateTimeOffset.UtcNow, TestContext.Current.CancellationToken);

        var restartedAt = DateTimeOffset.UtcNow;
        await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond));
        var all = await Log.WaitForAsync("tick", f => f.Count(x => x.StartedAt >= restartedAt) >= 3, Patience, "three firings after the restart");

        var afterRestart = all.Where(f => f.StartedAt >= restartedAt).ToList();
        var catchUp = Assert.Single(afterRestart, f => f.Info.ScheduledTime < restartedAt);
        Assert.Same(afterRestart[0], catchUp);
        Assert.True(catchUp.Info.IsPastDue);
        Assert.Equal(lastBefore.Info.Next, catchUp.Info.ScheduledTime);
        Assert.Equal(lastBefore.Info.ScheduledTime, catchUp.Info.Last);
        AssertChain(all);
    }

    [Fact]
    public async Task A_failing_run_is_logged_and_the_timer_keeps_its_schedule()
    {
        await StartNodeAsync("a", s => s.AddTimer<FailingTimer>("failing", EverySecond));

        var firings = await Log.WaitForAsync("failing", f => f.Count >= 3, Patience, "three attempts despite failures");

        AssertChain(firings.Take(3).ToList());
    }

    [Fact]
    public async Task A_changed_schedule_takes_effect_at_the_next_start()
    {
        var everySecond = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond));
        await Log.WaitForAsync("tick", f => f.Count >= 1, Patience, "a firing on the first schedule");
        await everySecond.DisposeAsync();
        var firedBefore = Log.Of("tick").Count;

        // Now yearly: the every-second occurrence missed during the restart belongs to the old schedule.
        var yearly = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", Yearly));
        var quietUntil = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(2);
        while (DateTimeOffset.UtcNow < quietUntil)
        {
            Assert.Equal(firedBefore, Log.Of("tick").Count);
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        await yearly.DisposeAsync();

        var restartedAt = DateTimeOffset.UtcNow;
        await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond));
        var firings = await Log.WaitForAsync("tick", f => f.Count > firedBefore, Patience, "a firing on the every-second schedule again");
        Assert.True(firings[firedBefore].Info.ScheduledTime >= restartedAt.AddMilliseconds(-restartedAt.Millisecond), FiringLog.Describe(firings));
    }

    [Fact]
    public async Task Two_stops_at_the_same_time_both_return_only_after_the_running_function_ended()
    {
        // A test server stops its host twice at once; a stop that returned early let the host dispose what the
        // engine was still shutting down with.
        var node = await StartNodeAsync("a", s => s.AddTimer<SlowTimer>("slow", EverySecond));
        await Log.WaitForAsync("slow", f => f.Any(x => x.EndedAt is null), Patience, "a run in progress");
        var engine = (IHostedService)node.Engine;

        var first = engine.StopAsync(TestContext.Current.CancellationToken);
        var second = engine.StopAsync(TestContext.Current.CancellationToken);
        await Task.WhenAny(first, second);

        Assert.All(Log.Of("slow"), f => Assert.NotNull(f.EndedAt));
        await Task.WhenAll(first, second);
        Assert.False(await node.Engine.IsReadyAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Reports_ready_while_running_and_not_after_stopping()
    {
        var node = await StartNodeAsync("a", s => s.AddTimer<QuickTimer>("yearly", Yearly, "Europe/Berlin"));
        var engine = node.Engine;

        Assert.Equal(ExpectedEngine, engine.Engine);
        Assert.Equal(new TimerDescriptor("yearly", Yearly, "Europe/Berlin", typeof(QuickTimer)), Assert.Single(engine.Timers));
        Assert.True(await engine.IsReadyAsync(TestContext.Current.CancellationToken));

        await node.Host.StopAsync(TestContext.Current.CancellationToken);
        Assert.False(await engine.IsReadyAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task An_invalid_cron_fails_fast_with_a_message_naming_the_timer_and_the_expression()
    {
        var error = await Assert.ThrowsAsync<ServerlessConfigurationException>(() => StartNodeAsync("a", s => s.AddTimer<QuickTimer>("broken", "61 * * * * *")));
        Assert.Contains("'broken'", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"61 * * * * *\"", error.Message, StringComparison.Ordinal);
        Assert.Empty(Log.All);
    }
}
