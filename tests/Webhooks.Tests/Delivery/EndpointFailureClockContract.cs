using Serverless.BuildingBlocks.State;
using Serverless.Testing;
using Serverless.Webhooks.Service.Delivery;

namespace Webhooks.Tests.Delivery;

/// <summary>The clock that disables a long-failing endpoint survives restarts and is shared by instances, on every state store.</summary>
public abstract class EndpointFailureClockContract : StoreBackedContract
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan FiveDays = TimeSpan.FromDays(5);

    [Fact]
    public async Task An_endpoint_is_due_for_disabling_once_failing_for_the_configured_time_since_its_first_failure()
    {
        var clock = new EndpointFailureClock(Store, FiveDays);
        Assert.False((await clock.RecordFailureAsync("ep", T0)).ShouldDisable);
        Assert.False((await clock.RecordFailureAsync("ep", T0.AddDays(3))).ShouldDisable);
        var almost = await clock.RecordFailureAsync("ep", T0 + FiveDays - TimeSpan.FromSeconds(1));
        Assert.Equal((T0, false), almost);
        Assert.True((await clock.RecordFailureAsync("ep", T0 + FiveDays)).ShouldDisable);
    }

    [Fact]
    public async Task A_restart_does_not_reset_the_clock()
    {
        await new EndpointFailureClock(Store, FiveDays).RecordFailureAsync("ep", T0);

        var afterRestart = new EndpointFailureClock(Store, FiveDays);
        Assert.Equal((T0, true), await afterRestart.RecordFailureAsync("ep", T0.AddDays(5)));
    }

    [Fact]
    public async Task Two_instances_share_the_earliest_clock()
    {
        var first = new EndpointFailureClock(Store, FiveDays);
        var second = new EndpointFailureClock(Store, FiveDays);
        await first.RecordFailureAsync("ep", T0);
        Assert.Equal(T0, (await second.RecordFailureAsync("ep", T0.AddDays(2))).FailingSince);
    }

    [Fact]
    public async Task A_success_anywhere_restarts_the_failing_period_also_after_a_restart()
    {
        await new EndpointFailureClock(Store, FiveDays).RecordFailureAsync("ep", T0);

        var afterRestart = new EndpointFailureClock(Store, FiveDays);
        await afterRestart.RecordSuccessAsync("ep");
        Assert.Equal((T0.AddDays(6), false), await afterRestart.RecordFailureAsync("ep", T0.AddDays(6)));
        Assert.Equal(T0.AddDays(6), (await new EndpointFailureClock(Store, FiveDays).RecordFailureAsync("ep", T0.AddDays(7))).FailingSince);
    }

    [Fact]
    public async Task Reset_forgets_the_clock_and_clocks_are_per_endpoint()
    {
        var clock = new EndpointFailureClock(Store, FiveDays);
        await clock.RecordFailureAsync("a", T0);
        await clock.RecordFailureAsync("b", T0.AddDays(1));
        await clock.ResetAsync("a");

        Assert.Equal((T0.AddDays(10), false), await clock.RecordFailureAsync("a", T0.AddDays(10)));
        Assert.Equal((T0.AddDays(1), true), await clock.RecordFailureAsync("b", T0.AddDays(10)));
    }
}

public sealed class SqliteEndpointFailureClockTests : EndpointFailureClockContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresEndpointFailureClockTests : EndpointFailureClockContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.PostgresAsync("failclock");
}
