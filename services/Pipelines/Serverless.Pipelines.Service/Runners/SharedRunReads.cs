using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The polls of the runs that this process's running steps watch, done together: a poll finds the last round younger
/// than the poll interval, or starts a new one that reads the stop note of every watched run in one round trip
/// (<see cref="RunStore.GetStopNotesAsync"/>). So a process polls about once per interval however many steps and runs
/// it has running. A note changes only when a running step must look at its run (a cancel, a timeout, a lost lease:
/// <see cref="Serverless.Pipelines.Runs.RunningAttempts.MustNotice"/>), so a round usually finds none and moves no
/// record: rounds used to read every watched run's whole record (with 200 runs of 4 parallel steps on PostgreSQL, most
/// of PostgreSQL's statement time, waiting on the records' busy pages). A run first watched after a round started has its note read on
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

    /// <summary>
    /// The ETag of the run's stop note (null: it has none) as a round started within <paramref name="maxAge"/> found it,
    /// or as a new round finds it.
    /// </summary>
    public async Task<string?> ReadStopNoteAsync(string runId, TimeSpan maxAge, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        Round round;
        lock (_watchers)
        {
            if (_round is not { } current || current.Failed || now - current.StartedAt >= maxAge)
            {
                // Started off the lock's thread, and not cancelled by the step that started it: the others wait for it too.
                var watched = _watchers.Keys.ToHashSet(StringComparer.Ordinal);
                current = _round = new Round(now, watched, Task.Run(() => runs.GetStopNotesAsync(watched, CancellationToken.None)));
            }

            round = current;
        }

        if (!round.RunIds.Contains(runId))
        {
            return (await runs.GetStopNotesAsync([runId], cancellationToken).ConfigureAwait(false)).GetValueOrDefault(runId);
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

    private sealed record Round(DateTimeOffset StartedAt, HashSet<string> RunIds, Task<IReadOnlyDictionary<string, string>> Reads)
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
