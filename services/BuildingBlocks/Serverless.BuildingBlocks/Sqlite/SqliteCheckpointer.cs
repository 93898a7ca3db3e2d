using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using SQLitePCL;

namespace Serverless.BuildingBlocks.Sqlite;

/// <summary>
/// Copies committed log pages into the database file on a thread and connection of its own (passive checkpoints), so
/// the single writer does not. SQLite's automatic checkpoint runs on the connection that committed, after its COMMIT:
/// the writer stood still while it copied about 1,000 pages and synced the log and the file, 20 times a second under
/// inbound webhooks. A log starts over only at a write that began after every frame had been copied, which a
/// checkpoint on another connection rarely sees while the writer commits several hundred times a second; so once a
/// pass has copied a log of <see cref="RewindFrames"/> or more, the writer (in <see cref="AfterCommit"/>) copies what was
/// committed since (a group or two) itself, and its next group rewinds the log. A pass runs at most every
/// <see cref="PassInterval"/> after a commit nudged it: each pass syncs the log and the file, so passes are spaced to
/// copy many frames at once.
/// </summary>
internal sealed class SqliteCheckpointer : IDisposable
{
    /// <summary>
    /// The least time between two passes. Inbound webhooks, 3 alternating rounds against the writer checkpointing alone
    /// (mean 5,390 requests/s): 15 ms gave 5,870 and 40 ms 5,740, apart within the noise; shorter leaves the writer
    /// less to copy at each rewind, at the price of more syncs.
    /// </summary>
    internal static readonly TimeSpan PassInterval = TimeSpan.FromMilliseconds(15);

    /// <summary>A log this long (in frames, SQLite's default checkpoint size) is made to start over.</summary>
    internal const int RewindFrames = 1000;

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private readonly object _gate = new();
    private volatile bool _rewindDue;
    private bool _nudged;
    private bool _closing;

    /// <summary>Passes that ran to the end, and rewinds the writer completed (for tests and diagnostics).</summary>
    internal long Passes;

    internal long Rewinds;

    /// <param name="connectionString">The database's own; this connection is kept for the thread's lifetime, outside the pool.</param>
    /// <param name="logger">The database's logger.</param>
    public SqliteCheckpointer(string connectionString, ILogger logger)
    {
        _logger = logger;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        _connection.Open();

        // Like the writer: in WAL mode a checkpoint then syncs the log before it copies and the file after.
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "PRAGMA synchronous=NORMAL;";
            command.ExecuteNonQuery();
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "sqlite-checkpoint" };
        _thread.Start();
    }

    /// <summary>
    /// Called by the writer after each group it commits, on its connection: when a pass found a log of
    /// <see cref="RewindFrames"/> or more, copies what was committed since, so that the writer's next group rewinds the
    /// log; then nudges the next pass.
    /// </summary>
    public void AfterCommit(SqliteConnection writer)
    {
        if (_rewindDue)
        {
            _rewindDue = false;
            try
            {
                // Busy (this thread is in a pass): its next pass asks again.
                if (TryPassive(writer, out _))
                {
                    Rewinds++;
                }
            }
            catch (SqliteException ex)
            {
                // The group is committed either way; the writer's automatic checkpoint is the bound on the log.
                _logger.LogWarning(ex, "A checkpoint of {Path} after a group commit failed", writer.DataSource);
            }
        }

        Nudge();
    }

    /// <summary>
    /// One passive checkpoint, called directly rather than as <c>PRAGMA wal_checkpoint</c>: Microsoft.Data.Sqlite retries a
    /// statement that meets SQLITE_BUSY for up to its command timeout (30 s), which held a host's shutdown that long
    /// when the closing writer's final checkpoint met a pass. Busy here simply means "not now".
    /// </summary>
    /// <returns>False when another checkpoint held the lock.</returns>
    private static bool TryPassive(SqliteConnection connection, out int logFrames)
    {
        var result = raw.sqlite3_wal_checkpoint_v2(connection.Handle, "main", raw.SQLITE_CHECKPOINT_PASSIVE, out logFrames, out _);
        if (result == raw.SQLITE_BUSY)
        {
            return false;
        }

        SqliteException.ThrowExceptionForRC(result, connection.Handle);
        return true;
    }

    /// <summary>Something was committed: run a pass soon.</summary>
    private void Nudge()
    {
        lock (_gate)
        {
            if (!_nudged)
            {
                _nudged = true;
                Monitor.Pulse(_gate);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _closing = true;
            Monitor.Pulse(_gate);
        }

        _thread.Join();
        _connection.Dispose();
    }

    private void Run()
    {
        while (true)
        {
            lock (_gate)
            {
                while (!_nudged && !_closing)
                {
                    Monitor.Wait(_gate);
                }

                if (_closing)
                {
                    return;
                }

                _nudged = false;
            }

            try
            {
                if (TryPassive(_connection, out var logFrames))
                {
                    Passes++;
                    if (logFrames >= RewindFrames)
                    {
                        _rewindDue = true;
                    }
                }
            }
            catch (Exception ex)
            {
                // Nothing waits on a pass (the writer's automatic checkpoint still bounds the log), and an exception
                // escaping this thread would end the process.
                _logger.LogWarning(ex, "A background checkpoint of {Path} failed", _connection.DataSource);
            }

            // The spacing: nudges meanwhile only mark the next pass as due.
            var due = Environment.TickCount64 + (long)PassInterval.TotalMilliseconds;
            lock (_gate)
            {
                for (var left = due - Environment.TickCount64; left > 0 && !_closing; left = due - Environment.TickCount64)
                {
                    Monitor.Wait(_gate, (int)left);
                }
            }
        }
    }
}
