using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>What only a cluster can show: several nodes on one PostgreSQL schema share the timers' work.</summary>
public sealed class DistributedTimerClusterTests : TimerTestHarness
{
    private readonly PostgresTimerSchema _schema = new();

    protected override ServerlessProfile Profile => ServerlessProfile.Distributed;

    protected override string PostgresSchema => _schema.Name;

    protected override string? PostgresConnectionString => _schema.ConnectionString;

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _schema.DisposeAsync();
    }

    [Fact]
    public async Task Two_nodes_fire_each_occurrence_exactly_once_and_never_overlap_a_run()
    {
        await Task.WhenAll(
            StartNodeAsync("a", AddBoth),
            StartNodeAsync("b", AddBoth));

        var ticks = (await Log.WaitForAsync("tick", f => f.Count >= 6, Patience, "six firings across two nodes")).Take(6).ToList();
        var slow = (await Log.WaitForAsync("slow", f => f.Count(x => x.EndedAt is not null) >= 3, Patience, "three finished slow runs")).Take(3).ToList();

        AssertChain(ticks);
        AssertChain(slow);
        AssertNoOverlap(slow);
        Assert.All(ticks.Concat(slow), f => Assert.Contains(f.Node, new[] { "a", "b" }));

        static void AddBoth(IServiceCollection services) => services
            .AddTimer<QuickTimer>("tick", EverySecond)
            .AddTimer<SlowTimer>("slow", EverySecond);
    }

    [Fact]
    public async Task When_the_node_that_has_been_firing_stops_the_other_takes_over()
    {
        var nodes = await Task.WhenAll(
            StartNodeAsync("a", s => s.AddTimer<QuickTimer>("tick", EverySecond)),
            StartNodeAsync("b", s => s.AddTimer<QuickTimer>("tick", EverySecond)));
        var before = await Log.WaitForAsync("tick", f => f.Count >= 2, Patience, "two firings before the fail-over");

        var victim = nodes.Single(n => n.Name == before[^1].Node);
        var survivor = nodes.Single(n => n != victim);
        await victim.DisposeAsync();
        var stoppedAt = DateTimeOffset.UtcNow;

        var all = await Log.WaitForAsync("tick", f => f.Count(x => x.StartedAt > stoppedAt) >= 3, Patience, "three firings after the fail-over");

        Assert.All(all.Where(f => f.StartedAt > stoppedAt), f => Assert.Equal(survivor.Name, f.Node));
        AssertChain(all);
    }

    [Fact]
    public async Task A_node_only_fires_the_timers_it_registered_and_the_tables_live_in_the_configured_schema()
    {
        await Task.WhenAll(
            StartNodeAsync("a", s => s.AddTimer<QuickTimer>("only-a", EverySecond)),
            StartNodeAsync("b", s => s.AddTimer<QuickTimer>("only-b", EverySecond)));

        var onA = await Log.WaitForAsync("only-a", f => f.Count >= 3, Patience, "three firings of only-a");
        var onB = await Log.WaitForAsync("only-b", f => f.Count >= 3, Patience, "three firings of only-b");

        Assert.All(onA, f => Assert.Equal("a", f.Node));
        Assert.All(onB, f => Assert.Equal("b", f.Node));
        Assert.True(await _schema.CountQuartzTablesAsync() > 10);
    }

    [Fact]
    public async Task A_node_without_timers_stays_out_of_the_cluster_and_is_ready()
    {
        var node = await StartNodeAsync("idle", _ => { });

        Assert.True(await node.Engine.IsReadyAsync(TestContext.Current.CancellationToken));
        Assert.Empty(node.Engine.Timers);
        Assert.Equal(0, await _schema.CountQuartzTablesAsync());
    }
}
