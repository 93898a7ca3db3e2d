using Serverless.BuildingBlocks.State;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;
using Serverless.Testing;

namespace Pipelines.Service.Tests;

/// <summary>The watchers of one run's running steps share its reads within the poll interval.</summary>
public sealed class SharedRunReadsTests : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private TemporaryStateStore _state = null!;
    private CountingReads _store = null!;
    private RunStore _runs = null!;
    private SharedRunReads _reads = null!;

    public async ValueTask InitializeAsync()
    {
        _state = await TemporaryStateStore.SqliteAsync();
        _store = new CountingReads(_state.Store);
        _runs = new RunStore(_store, _time, new RunTimerSignal());
        _reads = new SharedRunReads(_runs, _time);
    }

    public async ValueTask DisposeAsync() => await _state.DisposeAsync();

    private async Task<string> StartAsync()
    {
        const string yaml = "name: fan\nsteps:\n  - {id: a, kind: script, run: 'true'}\n  - {id: b, kind: script, run: 'true'}\n";
        var saved = await new DefinitionStore(_state.Store, _time).SaveAsync("fan", yaml, PipelineFormat.Yaml, CancellationToken.None);
        return (await _runs.StartAsync(saved.Saved!, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!.RunId;
    }

    [Fact]
    public async Task Steps_of_one_run_polling_within_the_interval_share_one_read_and_the_next_interval_reads_again()
    {
        var runId = await StartAsync();
        using var a = _reads.Watch(runId);
        using var b = _reads.Watch(runId);
        var before = _store.Reads;

        var first = await _reads.ReadAsync(a, Interval, CancellationToken.None);
        _time.Advance(Interval / 2);
        var second = await _reads.ReadAsync(b, Interval, CancellationToken.None);

        Assert.Equal(1, _store.Reads - before);
        Assert.Same(first, second);
        Assert.Equal(runId, first!.RunId);

        _time.Advance(Interval / 2);
        await _reads.ReadAsync(b, Interval, CancellationToken.None);
        Assert.Equal(2, _store.Reads - before);
    }

    [Fact]
    public async Task Watchers_of_different_runs_read_their_own_runs_and_a_run_nobody_watches_is_forgotten()
    {
        var one = await StartAsync();
        var other = await StartAsync();
        var before = _store.Reads;
        using (var a = _reads.Watch(one))
        using (var b = _reads.Watch(other))
        {
            Assert.Equal(one, (await _reads.ReadAsync(a, Interval, CancellationToken.None))!.RunId);
            Assert.Equal(other, (await _reads.ReadAsync(b, Interval, CancellationToken.None))!.RunId);
            Assert.Equal(2, _store.Reads - before);
            Assert.Equal(2, _reads.WatchedRuns);
        }

        Assert.Equal(0, _reads.WatchedRuns);

        // Watched again at the same instant: its earlier read went with its last watcher, so the run is read afresh.
        using var again = _reads.Watch(one);
        await _reads.ReadAsync(again, Interval, CancellationToken.None);
        Assert.Equal(3, _store.Reads - before);
    }

    [Fact]
    public async Task A_read_that_failed_is_not_handed_to_the_next_watcher()
    {
        var runId = await StartAsync();
        using var a = _reads.Watch(runId);
        using var b = _reads.Watch(runId);

        _store.FailNext();
        await Assert.ThrowsAsync<IOException>(() => _reads.ReadAsync(a, Interval, CancellationToken.None));
        var read = await _reads.ReadAsync(b, Interval, CancellationToken.None);

        Assert.Equal(runId, read!.RunId);
    }

    [Fact]
    public async Task A_watcher_that_stops_waiting_does_not_cancel_the_read_the_others_share()
    {
        var runId = await StartAsync();
        using var a = _reads.Watch(runId);
        using var b = _reads.Watch(runId);
        using var stopped = new CancellationTokenSource();
        _store.HoldNext();

        var abandoned = _reads.ReadAsync(a, Interval, stopped.Token);
        var waiting = _reads.ReadAsync(b, Interval, CancellationToken.None);
        await stopped.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        _store.Release();

        Assert.Equal(runId, (await waiting.WaitAsync(TimeSpan.FromSeconds(30)))!.RunId);
    }

    /// <summary>Counts reads of run records; can fail or hold the next one.</summary>
    private sealed class CountingReads(IStateStore inner) : DelegatingStateStore(inner)
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _reads;
        private int _failNext;
        private int _holdNext;

        public int Reads => Volatile.Read(ref _reads);

        public void FailNext() => Volatile.Write(ref _failNext, 1);

        public void HoldNext() => Volatile.Write(ref _holdNext, 1);

        public void Release() => _released.TrySetResult();

        public override async Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _reads);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                throw new IOException("the store did not answer");
            }

            if (Interlocked.Exchange(ref _holdNext, 0) == 1)
            {
                await _released.Task;
            }

            return await Inner.GetIfChangedAsync(key, knownETag, cancellationToken);
        }
    }
}
