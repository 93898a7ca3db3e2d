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
