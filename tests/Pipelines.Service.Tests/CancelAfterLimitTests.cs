using Serverless.Pipelines.Service.Runners;

namespace Pipelines.Service.Tests;

public sealed class CancelAfterLimitTests
{
    [Fact]
    public void Every_duration_a_definition_may_give_is_timed_by_the_runner_itself()
    {
        // 30 days, the longest a saved definition may give, is within what a CancellationTokenSource can time.
        Assert.True(TimeSpan.FromDays(30) <= CancelAfterLimit.Maximum);
        using var source = CancelAfterLimit.After(TimeSpan.FromDays(30));
        Assert.False(source.IsCancellationRequested);
    }

    [Fact]
    public void A_timeout_stored_before_the_cap_beyond_what_a_timer_takes_does_not_throw_and_is_left_to_the_orchestrator()
    {
        // A step of a definition stored before the 30-day cap: new CancellationTokenSource(60 days) throws.
        Assert.Throws<ArgumentOutOfRangeException>(() => new CancellationTokenSource(TimeSpan.FromDays(60)));
        using var source = CancelAfterLimit.After(TimeSpan.FromDays(60));
        Assert.False(source.IsCancellationRequested);
    }

    [Fact]
    public async Task A_short_timeout_cancels_and_none_never_does()
    {
        using var timed = CancelAfterLimit.After(TimeSpan.FromMilliseconds(1));
        await Task.Delay(Timeout.InfiniteTimeSpan, timed.Token).ContinueWith(_ => { }, TestContext.Current.CancellationToken);
        Assert.True(timed.IsCancellationRequested);

        using var none = CancelAfterLimit.After(null);
        Assert.False(none.IsCancellationRequested);
    }
}
