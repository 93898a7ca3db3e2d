using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Sqlite;

/// <summary>
/// One SQLite file in WAL mode with a single writer that commits in groups: concurrent writes queue up, run one
/// after another in one transaction, and the whole group shares one fsync. One failing write never undoes another:
/// when a write throws, the group is rolled back and run again with each write inside its own savepoint, its
/// failing write rolled back to its savepoint (and its after-commit actions dropped); the next
/// <see cref="SavepointGroupsAfterFailure"/> groups then use savepoints from the start, since failures (ETag
/// conflicts, duplicates) come in bursts. So a write's work may run more than once and must change nothing but the
/// database and its after-commit actions (counters that only grow, such as the next id, may skip values).
/// A savepoint per write used to be the rule: it copies every page the write changes that an earlier write in the
/// group had already changed into the statement journal, a few percent of the host's CPU under inbound webhooks.
/// Reads use pooled connections and never wait for the writer.
/// <para>
/// The fsync is pipelined: the writer commits without syncing (<c>synchronous=NORMAL</c>, which in WAL mode still
/// syncs the log before every checkpoint and the file after it) and goes on with the next group at once, while a
/// durability thread syncs the log file and only then runs each group's after-commit actions and completes its
/// writes. A sync started after a group's COMMIT returned covers that group, and one sync covers every group that
/// committed while the previous one ran. So nothing is acknowledged before it is on disk, as with
/// <c>synchronous=FULL</c>, but the writer no longer stands idle for every fsync (embedded inbound webhooks, A/B:
/// 7,610 -> 8,220 requests/s on average). Other connections may read a group for the fraction of a millisecond before
/// its sync; what they do with it is at-least-once territory (a power cut then loses the group, and its writers were
/// never told it was stored, so they try again).
/// </para>
/// </summary>
public sealed class SqliteDatabase : IAsyncDisposable
{
    private const int MaxGroupSize = 512;

    /// <summary>The writer's own automatic checkpoint: only reached when the checkpoint thread falls behind.</summary>
    internal const int WriterCheckpointFrames = 4 * SqliteCheckpointer.RewindFrames;

    /// <summary>Groups run with a savepoint per write from the start after a group in which a write threw.</summary>
    internal const int SavepointGroupsAfterFailure = 64;

    private readonly Channel<IWriteRequest> _writes = Channel.CreateUnbounded<IWriteRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteConnection _writer;
    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private readonly List<Action> _afterCommit = [];
    private readonly ILogger _logger;
    private readonly Task _writerLoop;
    private readonly object _durableGate = new();
    private readonly Queue<CommittedGroup> _committed = new();
    private readonly Thread _durability;
    private readonly SqliteCheckpointer _checkpointer;
    private bool _closing;
    private FileStream? _log;
    private int _savepointGroupsLeft;

    /// <summary>Groups committed without savepoints, and groups run with a savepoint per write (for tests and diagnostics).</summary>
    internal long PlainGroups;

    internal long SavepointGroups;

    /// <summary>Checkpoints the writer completed to let a copied log start over (for tests and diagnostics).</summary>
    internal long Rewinds => _checkpointer.Rewinds;

    /// <summary>Passes of the checkpoint thread that ran to the end (for tests and diagnostics).</summary>
    internal long CheckpointPasses => _checkpointer.Passes;

    public SqliteDatabase(string path, ILogger<SqliteDatabase> logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        _logger = logger;
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        Path = System.IO.Path.GetFullPath(path);
        ConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();

        _writer = new SqliteConnection(ConnectionString);
        _writer.Open();

        // Checkpoints run on a thread of their own (SqliteCheckpointer); the writer's automatic checkpoint stays, at
        // 4,000 frames, only as the bound should that thread fall behind. (A larger automatic checkpoint alone, 8,192,
        // had raised inbound webhooks' requests/s by a fifth but pushed p99 at 1,000 requests/s from 18 ms to 52 ms.)
        // synchronous=NORMAL: the durability thread syncs the log before anything is acknowledged (see above).
        Execute(_writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; PRAGMA temp_store=MEMORY; PRAGMA wal_autocheckpoint=" + WriterCheckpointFrames + ";");

        // The writer's page cache is 8 MB, with the file memory-mapped so that a page it does not hold is copied from the
        // mapping rather than read with a system call. Not larger: when a B-tree page splits, SQLite swaps page numbers
        // through a temporary key past the end of the file (the lock-byte page), and the commit then walks the cache's
        // whole hash table to drop pages past the end. With 64 MB that walk was a tenth of the host's CPU under inbound
        // webhooks and the COMMIT took 2.2-2.3 ms per group instead of 1.4 (A/B, alternating, 8 against 64 MB: about
        // 3.5 % more requests/s, the writer busy 12 % less per write; 2 MB did no better than 8).
        Execute(_writer, "PRAGMA cache_size=-8192; PRAGMA mmap_size=268435456;");
        _checkpointer = new SqliteCheckpointer(ConnectionString, logger);

        _durability = new Thread(RunDurability) { IsBackground = true, Name = "sqlite-durability" };
        _durability.Start();
        _writerLoop = Task.Factory.StartNew(RunWriterAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    public string Path { get; }

    public string ConnectionString { get; }

    /// <summary>
    /// Runs <paramref name="work"/> on the writer connection inside a transaction shared with other
    /// queued writes, and completes once that transaction is durably committed. An exception thrown by
    /// <paramref name="work"/> undoes only its own changes and is rethrown to the caller.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<SqliteWriteSession, T> work, CancellationToken cancellationToken = default)
    {
        var request = new WriteRequest<T>(work, cancellationToken);
        ObjectDisposedException.ThrowIf(!_writes.Writer.TryWrite(request), this);

        return request.Completion.Task;
    }

    /// <summary>Runs <paramref name="work"/> on a pooled read connection (a consistent WAL snapshot per statement).</summary>
    public async Task<T> ReadAsync<T>(Func<SqliteConnection, CancellationToken, Task<T>> work, CancellationToken cancellationToken = default)
    {
        var connection = new SqliteConnection(ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return await work(connection, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Runs DDL outside the group-commit queue (at start-up).</summary>
    public Task ExecuteSchemaAsync(string sql) => WriteAsync(session =>
    {
        using var command = session.Connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
        return true;
    });

    public async ValueTask DisposeAsync()
    {
        _writes.Writer.TryComplete();
        await _writerLoop.ConfigureAwait(false);
        lock (_durableGate)
        {
            _closing = true;
            Monitor.Pulse(_durableGate);
        }

        _durability.Join();
        _checkpointer.Dispose();
        if (_log is not null)
        {
            await _log.DisposeAsync().ConfigureAwait(false);
        }

        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }

        await _writer.DisposeAsync().ConfigureAwait(false);
        SqliteConnection.ClearPool(new SqliteConnection(ConnectionString));
    }

    private async Task RunWriterAsync()
    {
        var session = new SqliteWriteSession(_writer, _commands, _afterCommit);
        while (await _writes.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            // A new list per group: a committed group is handed to the durability thread with it.
            var batch = new List<IWriteRequest>();
            if (_writes.Reader.TakeBatch(batch, MaxGroupSize, request => request.IsCancelled) > 0)
            {
                CommitGroup(batch, session);
            }
        }
    }

    private void CommitGroup(List<IWriteRequest> batch, SqliteWriteSession session)
    {
        _afterCommit.Clear();
        try
        {
            // Control statements are prepared once and reused: re-preparing them per group cost a third of the writer's time.
            session.Command("BEGIN IMMEDIATE").ExecuteNonQuery();
            if (_savepointGroupsLeft > 0)
            {
                _savepointGroupsLeft--;
                RunWithSavepoints(batch, session);
            }
            else if (RunPlain(batch, session))
            {
                PlainGroups++;
            }
            else
            {
                // A write threw: undo the whole attempt and run the group again, each write in its own savepoint.
                session.Command("ROLLBACK").ExecuteNonQuery();
                _afterCommit.Clear();
                _savepointGroupsLeft = SavepointGroupsAfterFailure;
                session.Command("BEGIN IMMEDIATE").ExecuteNonQuery();
                RunWithSavepoints(batch, session);
            }

            session.Command("COMMIT").ExecuteNonQuery();
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "SQLite group commit of {Count} writes to {Path} failed", batch.Count, Path);
            TryRollback();
            foreach (var request in batch)
            {
                request.Fail(ex);
            }

            return;
        }

        var committed = new CommittedGroup(batch, [.. _afterCommit]);
        lock (_durableGate)
        {
            _committed.Enqueue(committed);
            Monitor.Pulse(_durableGate);
        }

        // Rewinds a log the checkpoint thread has copied, when it asks (see SqliteCheckpointer).
        _checkpointer.AfterCommit(_writer);
    }

    /// <summary>Runs each write in turn; false as soon as one throws (the rest have not run).</summary>
    private static bool RunPlain(List<IWriteRequest> batch, SqliteWriteSession session)
    {
        foreach (var request in batch)
        {
            if (!request.Run(session))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Runs each write inside its own savepoint; one that throws is rolled back to it, after-commit actions included.</summary>
    private void RunWithSavepoints(List<IWriteRequest> batch, SqliteWriteSession session)
    {
        SavepointGroups++;
        foreach (var request in batch)
        {
            var actions = _afterCommit.Count;
            session.Command("SAVEPOINT w").ExecuteNonQuery();
            if (request.Run(session))
            {
                session.Command("RELEASE w").ExecuteNonQuery();
            }
            else
            {
                session.Command("ROLLBACK TO w").ExecuteNonQuery();
                session.Command("RELEASE w").ExecuteNonQuery();
                _afterCommit.RemoveRange(actions, _afterCommit.Count - actions);
            }
        }
    }

    /// <summary>
    /// Syncs the log, then finishes every group that had committed before the sync began, in commit order; groups that
    /// commit meanwhile wait for the next sync.
    /// </summary>
    private void RunDurability()
    {
        var groups = new List<CommittedGroup>();
        while (true)
        {
            lock (_durableGate)
            {
                while (_committed.Count == 0 && !_closing)
                {
                    Monitor.Wait(_durableGate);
                }

                if (_committed.Count == 0)
                {
                    return;
                }

                while (_committed.TryDequeue(out var group))
                {
                    groups.Add(group);
                }
            }

            Exception? failure = null;
            try
            {
                SyncLog();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.LogError(ex, "SQLite log sync of {Path} failed; {Count} committed groups are reported as failed", Path, groups.Count);
                failure = new IOException("The write was committed but could not be synced to disk.", ex);
            }

            foreach (var group in groups)
            {
                Finish(group, failure);
            }

            groups.Clear();
        }
    }

    /// <summary>Flushes the write-ahead log file to disk (no log file yet: nothing was written that needs it).</summary>
    private void SyncLog()
    {
        if (_log is null)
        {
            var path = Path + "-wal";
            if (!File.Exists(path))
            {
                return;
            }

            // Opened once and kept for the database's lifetime; never written (SQLite writes the log), only synced.
            _log = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
        }

        _log.Flush(flushToDisk: true);
    }

    private void Finish(CommittedGroup group, Exception? failure)
    {
        foreach (var action in group.AfterCommit)
        {
            try
            {
                action();
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "An after-commit action of a write to {Path} failed", Path);
            }
        }

        foreach (var request in group.Requests)
        {
            if (failure is null)
            {
                request.Complete();
            }
            else
            {
                request.Fail(failure);
            }
        }
    }

    private void TryRollback()
    {
        try
        {
            Execute(_writer, "ROLLBACK");
        }
        catch (SqliteException)
        {
            // No transaction was open.
        }
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed record CommittedGroup(List<IWriteRequest> Requests, Action[] AfterCommit);

    private interface IWriteRequest
    {
        bool IsCancelled { get; }

        /// <summary>Runs the work; false when it threw (its savepoint must be rolled back).</summary>
        bool Run(SqliteWriteSession session);

        void Complete();

        void Fail(Exception exception);
    }

    private sealed class WriteRequest<T>(Func<SqliteWriteSession, T> work, CancellationToken cancellationToken) : IWriteRequest
    {
        private T? _result;
        private Exception? _error;

        public TaskCompletionSource<T> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsCancelled
        {
            get
            {
                if (!cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                Completion.TrySetCanceled(cancellationToken);
                return true;
            }
        }

        public bool Run(SqliteWriteSession session)
        {
            _error = null;
            try
            {
                _result = work(session);
                return true;
            }
            catch (Exception ex)
            {
                _error = ex;
                return false;
            }
        }

        public void Complete()
        {
            if (_error is not null)
            {
                Completion.TrySetException(_error);
            }
            else
            {
                Completion.TrySetResult(_result!);
            }
        }

        public void Fail(Exception exception) => Completion.TrySetException(_error ?? exception);
    }
}
