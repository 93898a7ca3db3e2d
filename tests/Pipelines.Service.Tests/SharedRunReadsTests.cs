using Serverless.BuildingBlocks.State;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;
using Serverless.Testing;

namespace Pipelines.Service.Tests;

/// <summary>The stop notes of the runs this process's running steps watch are read together, at most one round per poll interval.</summary>
public abstract class SharedRunReadsContract : IAsyncLifetime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);

    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private TemporaryStateStore _state = null!;
    private CountingReads _store = null!;
    private RunStore _runs = null!;
    private SharedRunReads _reads = null!;

    protected abstract Task<TemporaryStateStore> CreateStoreAsync();

    public async ValueTask InitializeAsync()
    {
        _state = await CreateStoreAsync();
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

    /// <summary>A run with a step running and then a cancel requested: it has a stop note.</summary>
    private async Task<string> CancelAsync(string runId)
    {
        await _runs.ApplyAsync(runId, new StepStarted("a", 1, _time.GetUtcNow()), null, CancellationToken.None);
        await _runs.ApplyAsync(runId, new CancelRequested(_time.GetUtcNow()), null, CancellationToken.None);
        return runId;
    }

    [Fact]
    public async Task Every_watched_run_is_read_in_one_round_per_interval_and_the_next_interval_starts_another()
    {
        var one = await CancelAsync(await StartAsync());
        var other = await StartAsync();
        var recordReads = _store.RecordReads;
        using var a = _reads.Watch(one);
        using var b = _reads.Watch(one);
        using var c = _reads.Watch(other);

        var first = await _reads.ReadStopNoteAsync(one, Interval, CancellationToken.None);
        _time.Advance(Interval / 2);
        var second = await _reads.ReadStopNoteAsync(one, Interval, CancellationToken.None);
        var third = await _reads.ReadStopNoteAsync(other, Interval, CancellationToken.None);

        Assert.Equal((1, 2), (_store.Rounds, _store.KeysRead));
        Assert.NotNull(first);
        Assert.Equal(first, second);
        Assert.Null(third);

        // No record was read; the next interval's round sees a note written meanwhile.
        Assert.Equal(recordReads, _store.RecordReads);
        await CancelAsync(other);
        _time.Advance(Interval / 2);
        Assert.NotNull(await _reads.ReadStopNoteAsync(other, Interval, CancellationToken.None));
        Assert.Equal((2, 4), (_store.Rounds, _store.KeysRead));
    }

    [Fact]
    public async Task A_run_first_watched_after_a_round_started_is_read_on_its_own_until_the_next_round_and_a_run_nobody_watches_is_left_out()
    {
        var one = await StartAsync();
        var later = await CancelAsync(await StartAsync());
        using var a = _reads.Watch(one);
        await _reads.ReadStopNoteAsync(one, Interval, CancellationToken.None);

        using (var b = _reads.Watch(later))
        {
            // On its own: a read of one key, outside the round.
            Assert.NotNull(await _reads.ReadStopNoteAsync(later, Interval, CancellationToken.None));
            Assert.Equal((2, 2), (_store.Rounds, _store.KeysRead));

            _time.Advance(Interval);
            Assert.NotNull(await _reads.ReadStopNoteAsync(later, Interval, CancellationToken.None));
            Assert.Equal((3, 4), (_store.Rounds, _store.KeysRead));
            Assert.Equal(2, _reads.WatchedRuns);
        }

        Assert.Equal(1, _reads.WatchedRuns);
        _time.Advance(Interval);
        await _reads.ReadStopNoteAsync(one, Interval, CancellationToken.None);
        Assert.Equal((4, 5), (_store.Rounds, _store.KeysRead));
    }

    [Fact]
    public async Task A_run_that_is_gone_reads_as_null_and_a_failed_round_is_not_handed_to_the_next_watcher()
    {
        var runId = await CancelAsync(await StartAsync());
        using var a = _reads.Watch(runId);
        using var b = _reads.Watch(runId);
        var goneId = TimeOrderedId.Next(_time.GetUtcNow());
        using var gone = _reads.Watch(goneId);

        _store.FailNext();
        await Assert.ThrowsAsync<IOException>(() => _reads.ReadStopNoteAsync(runId, Interval, CancellationToken.None));

        Assert.NotNull(await _reads.ReadStopNoteAsync(runId, Interval, CancellationToken.None));
        Assert.Null(await _reads.ReadStopNoteAsync(goneId, Interval, CancellationToken.None));
        Assert.Equal(2, _store.Rounds);
    }

    [Fact]
    public async Task A_watcher_that_stops_waiting_does_not_cancel_the_round_the_others_share()
    {
        var runId = await CancelAsync(await StartAsync());
        using var a = _reads.Watch(runId);
        using var b = _reads.Watch(runId);
        using var stopped = new CancellationTokenSource();
        _store.HoldNext();

        var abandoned = _reads.ReadStopNoteAsync(runId, Interval, stopped.Token);
        var waiting = _reads.ReadStopNoteAsync(runId, Interval, CancellationToken.None);
        await stopped.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        _store.Release();

        Assert.NotNull(await waiting.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, _store.Rounds);
    }

    /// <summary>Counts bulk reads of stop notes (and the keys in them) and reads of run records; can fail or hold the next bulk read.</summary>
    private sealed class CountingReads(IStateStore inner) : DelegatingStateStore(inner)
    {
        private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _rounds;
        private int _keysRead;
        private int _recordReads;
        private int _failNext;
        private int _holdNext;

        public int Rounds => Volatile.Read(ref _rounds);

        public int KeysRead => Volatile.Read(ref _keysRead);

        public int RecordReads => Volatile.Read(ref _recordReads);

        public void FailNext() => Volatile.Write(ref _failNext, 1);

        public void HoldNext() => Volatile.Write(ref _holdNext, 1);

        public void Release() => _released.TrySetResult();

        public override async Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _rounds);
            Interlocked.Add(ref _keysRead, keys.Count);
            if (Interlocked.Exchange(ref _failNext, 0) == 1)
            {
                throw new IOException("the store did not answer");
            }

            if (Interlocked.Exchange(ref _holdNext, 0) == 1)
            {
                await _released.Task;
            }

            return await Inner.GetBulkAsync(keys, cancellationToken);
        }

        public override Task<IReadOnlyList<StateItem>> GetBulkIfChangedAsync(IReadOnlyCollection<KeyValuePair<string, string?>> keys, CancellationToken cancellationToken = default)
        {
            Interlocked.Add(ref _recordReads, keys.Count);
            return Inner.GetBulkIfChangedAsync(keys, cancellationToken);
        }

        public override Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default)
        {
            if (key.StartsWith("pipelines||run||", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _recordReads);
            }

            return Inner.GetIfChangedAsync(key, knownETag, cancellationToken);
        }
    }
}

public sealed class SqliteSharedRunReadsTests : SharedRunReadsContract
{
    protected override Task<TemporaryStateStore> CreateStoreAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresSharedRunReadsTests : SharedRunReadsContract
{
    protected override Task<TemporaryStateStore> CreateStoreAsync() => TemporaryStateStore.PostgresAsync("pipelines");
}
