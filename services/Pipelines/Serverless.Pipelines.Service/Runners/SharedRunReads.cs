using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The reads of the runs that this process's running steps watch, done together: a poll finds the last round of reads
/// younger than the poll interval, or starts a new one that reads every watched run in one round trip
/// (<see cref="RunStore.GetManyAsync"/>). So a process polls about once per interval however many steps and runs it
/// has running; each step used to read its run every 250 ms on its own (with 200 runs of 4 parallel steps, 3,200
/// reads a second, about two thirds of PostgreSQL's statements). A run first watched after a round started is read on
/// its own until the next round takes it in. A step so notices a cancel or a timeout within two intervals instead of one.
/// </summary>
internal sealed class SharedRunReads(RunStore runs, TimeProvider time)
{
    /// <summary>How many running steps watch each run.</summary>
    private readonly Dictionary<string, int> _watchers = new(StringComparer.Ordinal);
    private Round? _round;

    /// <summary>How many runs are watched (for tests).</summary>
    internal int WatchedRuns
    {
        get
        {
            lock (_watchers)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>
    /// Registers a watcher of <paramref name="runId"/>, so rounds read the run; disposing it forgets the run once nobody
    /// watches it.
    /// </summary>
    public IDisposable Watch(string runId)
    {
        lock (_watchers)
        {
            _watchers[runId] = _watchers.GetValueOrDefault(runId) + 1;
        }

        return new Registration(this, runId);
    }

    /// <summary>The run as a round of reads started within <paramref name="maxAge"/> found it, or as a new round finds it.</summary>
    public async Task<RunRecord?> ReadAsync(string runId, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Round round;
        lock (_watchers)
        {
            if (_round is not { } current || current.Failed || now - current.StartedAt >= maxAge)
            {
                // Started off the lock's thread, and not cancelled by the step that started it: the others wait for it too.
                var watched = _watchers.Keys.ToHashSet(StringComparer.Ordinal);
                current = _round = new Round(now, watched, Task.Run(() => runs.GetManyAsync(watched, CancellationToken.None)));
            }

            round = current;
        }

        if (!round.RunIds.Contains(runId))
        {
            return await runs.GetAsync(runId, cancellationToken).ConfigureAwait(false);
        }

        var found = await round.Reads.WaitAsync(cancellationToken).ConfigureAwait(false);
        return found.GetValueOrDefault(runId);
    }

    private void Release(string runId)
    {
        lock (_watchers)
        {
            if (--_watchers[runId] == 0)
            {
                _watchers.Remove(runId);
            }
        }
    }

    private sealed record Round(DateTimeOffset StartedAt, HashSet<string> RunIds, Task<IReadOnlyDictionary<string, RunRecord?>> Reads)
    {
        public bool Failed => Reads.IsFaulted || Reads.IsCanceled;
    }

    private sealed class Registration(SharedRunReads owner, string runId) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Release(runId);
            }
        }
    }
}
