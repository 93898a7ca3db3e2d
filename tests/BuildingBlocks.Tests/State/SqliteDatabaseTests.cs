using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.Sqlite;

namespace BuildingBlocks.Tests.State;

/// <summary>The group-commit writer with its pipelined log sync: what a write's completion promises.</summary>
public sealed class SqliteDatabaseTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("sqlite-db-").FullName;

    private string DatabasePath => Path.Combine(_directory, "test.db");

    [Fact]
    public async Task A_write_completes_only_after_its_groups_after_commit_actions_ran_in_commit_order()
    {
        await using var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await database.ExecuteSchemaAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
        var afterCommit = new ConcurrentQueue<long>();

        var writes = Enumerable.Range(0, 300).Select(n => Task.Run(async () =>
        {
            var rowId = await database.WriteAsync(session =>
            {
                var insert = session.Command("INSERT INTO t (n) VALUES ($n) RETURNING id");
                insert.Parameters.AddWithValue("$n", n);
                var id = (long)insert.ExecuteScalar()!;
                session.AfterCommit(() => afterCommit.Enqueue(id));
                return id;
            });

            // Its own action has run by the time the write completes.
            Assert.Contains(rowId, afterCommit);
            return rowId;
        })).ToList();
        var rowIds = await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(300, rowIds.Distinct().Count());
        Assert.Equal(afterCommit.Order(), afterCommit);
        Assert.Equal(300, await CountAsync(database));
    }

    [Fact]
    public async Task Disposing_finishes_every_queued_write_and_leaves_them_all_in_the_file()
    {
        var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await database.ExecuteSchemaAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
        var writes = Enumerable.Range(0, 500).Select(n => database.WriteAsync(session =>
        {
            var insert = session.Command("INSERT INTO t (n) VALUES ($n)");
            insert.Parameters.AddWithValue("$n", n);
            return insert.ExecuteNonQuery();
        })).ToList();

        await database.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.All(await Task.WhenAll(writes).WaitAsync(TimeSpan.FromSeconds(30)), inserted => Assert.Equal(1, inserted));

        await using var reopened = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        Assert.Equal(500, await CountAsync(reopened));
    }

    [Fact]
    public async Task A_write_that_throws_in_a_group_undoes_only_its_own_changes_and_after_commit_actions()
    {
        await using var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await database.ExecuteSchemaAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
        var afterCommit = new ConcurrentQueue<int>();
        var runs = new ConcurrentDictionary<int, int>();

        var writes = await OneGroupAsync(database, [.. Enumerable.Range(0, 6).Select(n => (Func<SqliteWriteSession, int>)(session =>
        {
            runs.AddOrUpdate(n, 1, (_, count) => count + 1);
            Insert(session, n);
            session.AfterCommit(() => afterCommit.Enqueue(n));
            if (n is 2 or 4)
            {
                // After its changes and its after-commit action: both must go.
                throw new InvalidOperationException($"write {n} failed");
            }

            return n;
        }))]);

        for (var n = 0; n < 6; n++)
        {
            if (n is 2 or 4)
            {
                Assert.Equal($"write {n} failed", (await Assert.ThrowsAsync<InvalidOperationException>(() => writes[n])).Message);
            }
            else
            {
                Assert.Equal(n, await writes[n]);
            }
        }

        Assert.Equal([0, 1, 3, 5], await ValuesAsync(database));
        Assert.Equal([0, 1, 3, 5], afterCommit);

        // The plain attempt stopped at write 2; the group then ran again with a savepoint per write.
        Assert.Equal([2, 2, 2, 1, 1, 1], Enumerable.Range(0, 6).Select(n => runs[n]));
        Assert.Equal(1, database.SavepointGroups);
    }

    [Fact]
    public async Task Groups_without_a_failure_take_no_savepoints_and_after_one_the_next_groups_take_them_for_a_while()
    {
        await using var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await database.ExecuteSchemaAsync("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)");
        await Task.WhenAll(Enumerable.Range(0, 200).Select(n => database.WriteAsync(session => Insert(session, n))));
        Assert.Equal(0, database.SavepointGroups);
        var plain = database.PlainGroups;

        await Assert.ThrowsAsync<InvalidOperationException>(() => database.WriteAsync<int>(_ => throw new InvalidOperationException()));
        for (var i = 0; i < SqliteDatabase.SavepointGroupsAfterFailure; i++)
        {
            await database.WriteAsync(session => Insert(session, 1000 + i));
        }

        Assert.Equal((plain, 1 + SqliteDatabase.SavepointGroupsAfterFailure), (database.PlainGroups, database.SavepointGroups));
        await database.WriteAsync(session => Insert(session, 2000));
        Assert.Equal(plain + 1, database.PlainGroups);
        Assert.Equal(200 + SqliteDatabase.SavepointGroupsAfterFailure + 1, (await ValuesAsync(database)).Count);
    }

    [Fact]
    public async Task Under_steady_writes_the_checkpoint_thread_copies_the_log_and_the_writer_lets_it_start_over()
    {
        const int Writes = 8_000;
        const int PageAndFrameHeader = 4096 + 24;
        await using var database = new SqliteDatabase(DatabasePath, NullLogger<SqliteDatabase>.Instance);
        await database.ExecuteSchemaAsync("CREATE TABLE kv (id INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, value BLOB NOT NULL)");

        // 16 writers without pause, each row 3 KB under a random key: about 24 MB, six times the writer's own bound in frames.
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < Writes)
            {
                await database.WriteAsync(session =>
                {
                    var insert = session.Command("INSERT INTO kv (key, value) VALUES ($key, $value)");
                    insert.Parameters.AddWithValue("$key", Guid.NewGuid().ToByteArray());
                    insert.Parameters.AddWithValue("$value", new byte[3 * 1024]);
                    return insert.ExecuteNonQuery();
                });
            }
        }))).WaitAsync(TimeSpan.FromSeconds(60));

        Assert.True(database.CheckpointPasses > 0, "the checkpoint thread never ran a pass");
        Assert.True(database.Rewinds > 0, "the writer never let a copied log start over");

        // The log file keeps the largest size it reached: it started over near the rewind size, far below the writer's bound.
        var logFrames = new FileInfo(DatabasePath + "-wal").Length / PageAndFrameHeader;
        Assert.InRange(logFrames, 1, SqliteDatabase.WriterCheckpointFrames / 2);
        Assert.Equal(Writes, await database.ReadAsync(async (connection, cancellationToken) =>
        {
            await using var count = connection.CreateCommand();
            count.CommandText = "SELECT count(*) FROM kv WHERE length(value) = 3072";
            return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }));
    }

    /// <summary>Queues <paramref name="works"/> as one group and waits until each has completed or failed.</summary>
    private static async Task<Task<int>[]> OneGroupAsync(SqliteDatabase database, Func<SqliteWriteSession, int>[] works)
    {
        var writes = await HeldWriter.QueueOneGroupAsync(database, () => works.Select(work => database.WriteAsync(work)).ToArray());
        await Task.WhenAll(writes.Select(w => w.ContinueWith(_ => { }, TaskScheduler.Default))).WaitAsync(TimeSpan.FromSeconds(30));
        return writes;
    }

    private static int Insert(SqliteWriteSession session, int n)
    {
        var insert = session.Command("INSERT INTO t (n) VALUES ($n)");
        insert.Parameters.AddWithValue("$n", n);
        return insert.ExecuteNonQuery();
    }

    private static Task<List<long>> ValuesAsync(SqliteDatabase database) => database.ReadAsync(async (connection, cancellationToken) =>
    {
        await using var select = connection.CreateCommand();
        select.CommandText = "SELECT n FROM t ORDER BY n";
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        var values = new List<long>();
        while (await reader.ReadAsync(cancellationToken))
        {
            values.Add(reader.GetInt64(0));
        }

        return values;
    });

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }

    private static Task<long> CountAsync(SqliteDatabase database) => database.ReadAsync(async (connection, cancellationToken) =>
    {
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM t";
        return (long)(await count.ExecuteScalarAsync(cancellationToken))!;
    });
}
