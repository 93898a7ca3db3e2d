using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Sqlite;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>One event a subscription has yet to settle.</summary>
internal readonly record struct LedgerEntry(long Id, string Subscription, string Topic, byte[] CloudEventJson);

/// <summary>
/// The embedded profile's durability: one row per (event, subscription) from the moment the event is
/// published until that subscription has handled or dead-lettered it. Appends ride the database's group
/// commit; settled rows are deleted in batches off the hot path. Whatever is left at start-up is delivered again.
/// </summary>
internal sealed partial class EventLedger : IAsyncDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS pubsub_ledger (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscription TEXT NOT NULL,
            topic TEXT NOT NULL,
            event BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        """;

    private const string Insert = "INSERT INTO pubsub_ledger (subscription, topic, event, created_at) VALUES ($subscription, $topic, $event, $now) RETURNING id";

    private const int MaxSettleBatch = 8192;
    private const int RecoveryPage = 1000;

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lazy<Task> _schema;
    private readonly Channel<long> _settled = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _settleLoop;

    public EventLedger(SqliteDatabase database, TimeProvider time, ILogger<EventLedger> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
        _schema = new Lazy<Task>(() => database.ExecuteSchemaAsync(Schema));
        _settleLoop = Task.Run(SettleLoopAsync);
    }

    public Task EnsureSchemaAsync() => _schema.Value;

    /// <summary>
    /// Durably records the event for each subscription. <paramref name="dispatchNow"/> is read on the writer
    /// thread, in commit order with <see cref="StartDispatchingAsync"/>, so every row is dispatched exactly
    /// once per process: by its publisher when the flag was already up, by start-up recovery otherwise.
    /// </summary>
    public async Task<(long[] Ids, bool Dispatch)> AppendAsync(SubscriptionDescriptor[] subscriptions, string topic, byte[] cloudEventJson, Func<bool> dispatchNow, CancellationToken cancellationToken)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
        return await _database.WriteAsync(session =>
        {
            var ids = new long[subscriptions.Length];
            for (var i = 0; i < subscriptions.Length; i++)
            {
                var command = session.Command(Insert);
                command.Parameters.AddWithValue("$subscription", subscriptions[i].Name);
                command.Parameters.AddWithValue("$topic", topic);
                command.Parameters.Add("$event", SqliteType.Blob).Value = cloudEventJson;
                command.Parameters.AddWithValue("$now", now);
                ids[i] = (long)command.ExecuteScalar()!;
            }

            return (ids, dispatchNow());
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Raises the dispatch flag on the writer thread and returns the highest id written before it: recovery's upper bound.</summary>
    public async Task<long> StartDispatchingAsync(Action raiseFlag)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        return await _database.WriteAsync(session =>
        {
            raiseFlag();
            var command = session.Command("SELECT coalesce(max(id), 0) FROM pubsub_ledger");
            return (long)command.ExecuteScalar()!;
        }).ConfigureAwait(false);
    }

    /// <summary>Rows left from earlier runs (and from publishes before dispatch started), oldest first.</summary>
    public async IAsyncEnumerable<LedgerEntry> ReadUpToAsync(long watermark, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var after = 0L;
        while (true)
        {
            var page = await _database.ReadAsync(async (connection, ct) =>
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "SELECT id, subscription, topic, event FROM pubsub_ledger WHERE id > $after AND id <= $watermark ORDER BY id LIMIT $limit";
                command.Parameters.AddWithValue("$after", after);
                command.Parameters.AddWithValue("$watermark", watermark);
                command.Parameters.AddWithValue("$limit", RecoveryPage);
                var entries = new List<LedgerEntry>(RecoveryPage);
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    entries.Add(new LedgerEntry(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), (byte[])reader.GetValue(3)));
                }

                return entries;
            }, cancellationToken).ConfigureAwait(false);

            foreach (var entry in page)
            {
                yield return entry;
            }

            if (page.Count < RecoveryPage)
            {
                yield break;
            }

            after = page[^1].Id;
        }
    }

    /// <summary>Marks a row settled; it is deleted with the next batch (a crash before that only means one more delivery).</summary>
    public void Settle(long id) => _settled.Writer.TryWrite(id);

    /// <summary>How many rows wait (diagnostics and tests).</summary>
    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        return await _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM pubsub_ledger";
            return (long)(await command.ExecuteScalarAsync(ct).ConfigureAwait(false))!;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes every row settled so far and stops taking more.</summary>
    public async ValueTask DisposeAsync()
    {
        _settled.Writer.TryComplete();
        await _settleLoop.ConfigureAwait(false);
    }

    private async Task SettleLoopAsync()
    {
        var batch = new List<long>(1024);
        while (await _settled.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxSettleBatch && _settled.Reader.TryRead(out var id))
            {
                batch.Add(id);
            }

            try
            {
                await _database.WriteAsync(session =>
                {
                    var command = session.Command("DELETE FROM pubsub_ledger WHERE id = $id");
                    var parameter = command.Parameters.Add("$id", SqliteType.Integer);
                    foreach (var id in batch)
                    {
                        parameter.Value = id;
                        command.ExecuteNonQuery();
                    }

                    return batch.Count;
                }).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                // The rows stay and are delivered again after a restart: at least once, never lost.
                LogSettleFailed(_logger, ex, batch.Count);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Deleting {Count} settled pub/sub ledger rows failed; they will be delivered again after a restart")]
    private static partial void LogSettleFailed(ILogger logger, Exception error, int count);
}
