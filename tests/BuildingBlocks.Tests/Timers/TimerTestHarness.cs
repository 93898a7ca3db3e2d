using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>
/// Starts test nodes (one host each, the equivalent of one process) on one engine, records every firing,
/// and checks the invariants firings must keep.
/// </summary>
public abstract class TimerTestHarness : IAsyncLifetime
{
    protected const string EverySecond = "* * * * * *";
    protected const string Yearly = "0 0 0 1 1 *";

    protected static readonly TimeSpan Threshold = TimeSpan.FromSeconds(0.5);
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private readonly List<TimerNode> _nodes = [];

    protected FiringLog Log { get; } = new();

    protected abstract ServerlessProfile Profile { get; }

    protected virtual string? PostgresConnectionString => null;

    protected virtual string PostgresSchema => "serverless";

    private static TimerEngineSettings Settings { get; } = new()
    {
        PastDueThreshold = Threshold,
        IdleWaitTime = TimeSpan.FromSeconds(1),
        CheckinInterval = TimeSpan.FromSeconds(1),
        CheckinMisfireThreshold = TimeSpan.FromSeconds(2),
        WatchdogInterval = TimeSpan.FromSeconds(2),

        // Short, so that the downtime and overrun tests take Quartz's misfire path (fire once, now).
        MisfireThreshold = TimeSpan.FromSeconds(1),
        StoreRetryDelay = TimeSpan.FromMilliseconds(200),
    };

    public virtual ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public virtual async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.DisposeAsync();
        }
    }

    /// <summary>Registers whatever the engine needs besides itself (the embedded engine's state store).</summary>
    protected virtual void AddEngineDependencies(IServiceCollection services)
    {
    }

    protected async Task<TimerNode> StartNodeAsync(string name, Action<IServiceCollection> addTimers)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Information).AddProvider(new TestOutputLoggerProvider(name));
        builder.Services.AddSingleton(Log).AddSingleton(new NodeName(name));
        AddEngineDependencies(builder.Services);
        var options = new ServerlessOptions { Profile = Profile, InstanceId = name, PostgresSchema = PostgresSchema, Timers = { PastDueThreshold = Threshold } };
        builder.Services.AddTimerEngine(options, PostgresConnectionString, Settings);

        // After the engine, as a module registers its timers after AddBuildingBlocks.
        addTimers(builder.Services);
        var host = builder.Build();
        var node = new TimerNode(name, host);
        _nodes.Add(node);
        await host.StartAsync(TestContext.Current.CancellationToken);
        return node;
    }

    /// <summary>
    /// Consecutive firings form one chain: each stands for the occurrence its predecessor announced as
    /// next, and names its predecessor as last. A duplicate or a lost firing breaks it.
    /// </summary>
    protected static void AssertChain(IReadOnlyList<Firing> firings)
    {
        Assert.Equal(firings.Count, firings.Select(f => f.Info.ScheduledTime).Distinct().Count());
        foreach (var (previous, next) in firings.Zip(firings.Skip(1)))
        {
            Assert.True(next.Info.ScheduledTime == previous.Info.Next && next.Info.Last == previous.Info.ScheduledTime, $"Broken chain between firings:{Environment.NewLine}{FiringLog.Describe([previous, next])}");
        }
    }

    protected static void AssertNoOverlap(IReadOnlyList<Firing> firings)
    {
        foreach (var (previous, next) in firings.Zip(firings.Skip(1)))
        {
            Assert.True(previous.EndedAt is not null && next.StartedAt >= previous.EndedAt, $"Runs overlap:{Environment.NewLine}{FiringLog.Describe([previous, next])}");
        }
    }
}
