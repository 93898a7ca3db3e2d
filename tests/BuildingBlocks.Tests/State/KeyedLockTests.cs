using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public sealed class KeyedLockTests
{
    [Fact]
    public async Task One_holder_per_key_at_a_time_and_other_keys_are_not_held_up()
    {
        var locks = new KeyedLock();
        var first = await locks.EnterAsync("run-1", TestContext.Current.CancellationToken);
        var second = locks.EnterAsync("run-1", TestContext.Current.CancellationToken);
        var other = await locks.EnterAsync("run-2", TestContext.Current.CancellationToken);

        Assert.False(second.IsCompleted);
        first.Dispose();
        using (await second)
        {
            Assert.Equal(2, locks.Count);
        }

        other.Dispose();
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task Many_writers_of_one_key_never_overlap_and_the_gate_goes_away_after()
    {
        var locks = new KeyedLock();
        var inside = 0;
        var overlaps = 0;
        await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(async () =>
        {
            using var turn = await locks.EnterAsync("hot", TestContext.Current.CancellationToken);
            if (Interlocked.Increment(ref inside) > 1)
            {
                Interlocked.Increment(ref overlaps);
            }

            await Task.Yield();
            Interlocked.Decrement(ref inside);
        }, TestContext.Current.CancellationToken)));

        Assert.Equal(0, overlaps);
        Assert.Equal(0, locks.Count);
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_the_gate_usable()
    {
        var locks = new KeyedLock();
        var held = await locks.EnterAsync("k", TestContext.Current.CancellationToken);
        using var cancel = new CancellationTokenSource();
        var waiting = locks.EnterAsync("k", cancel.Token);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);

        held.Dispose();
        held.Dispose();
        Assert.Equal(0, locks.Count);
        using var again = await locks.EnterAsync("k", TestContext.Current.CancellationToken);
        Assert.Equal(1, locks.Count);
    }
}
