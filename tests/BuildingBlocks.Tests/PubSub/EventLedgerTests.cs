using BuildingBlocks.Tests.State;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Sqlite;

namespace BuildingBlocks.Tests.PubSub;

/// <summary>The embedded ledger's promise that each row is dispatched once per process: by its publisher or by recovery.</summary>
public sealed class EventLedgerTests : IAsyncDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("ledger-").FullName;

    [Fact]
    public async Task An_append_in_a_group_that_runs_twice_around_the_start_of_dispatch_is_dispatched_once()
    {
        await using var database = new SqliteDatabase(Path.Combine(_directory, "ledger.db"), NullLogger<SqliteDatabase>.Instance);
        await using var ledger = new EventLedger(database, TimeProvider.System, NullLogger<EventLedger>.Instance);
        await ledger.EnsureSchemaAsync();
        var subscription = new SubscriptionDescriptor("s", "t", typeof(object));
        var dispatched = new List<long>();

        // One group: an append, the start of dispatch, then a write that throws, so the group runs a second time.
        var (append, start, failing) = await HeldWriter.QueueOneGroupAsync(database, () => (
            database.WriteAsync(session => ledger.TryAppendInSession(session, [subscription], "t", "{}"u8.ToArray(), ids =>
            {
                lock (dispatched)
                {
                    dispatched.AddRange(ids);
                }
            })),
            ledger.StartDispatchingAsync(),
            database.WriteAsync<int>(_ => throw new InvalidOperationException("fails"))));
        Assert.True(await append.WaitAsync(TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<InvalidOperationException>(() => failing);
        var watermark = await start.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(1, database.SavepointGroups);

        var recovered = new List<long>();
        await foreach (var entry in ledger.ReadUpToAsync(watermark))
        {
            recovered.Add(entry.Id);
        }

        // The row is in the file once, and exactly one of the two ways delivers it.
        var rows = new List<long>();
        await foreach (var entry in ledger.ReadUpToAsync(long.MaxValue))
        {
            rows.Add(entry.Id);
        }

        var row = Assert.Single(rows);
        Assert.Equal([row], dispatched.Concat(recovered));
    }

    public ValueTask DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        return ValueTask.CompletedTask;
    }
}
