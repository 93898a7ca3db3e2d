using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
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
            id INTEGER PRIMARY KEY,
            subscription TEXT NOT NULL,
            topic TEXT NOT NULL,
            event BLOB NOT NULL,
            created_at INTEGER NOT NULL
        );
        """;

    private const string Insert = "INSERT INTO pubsub_ledger (id, subscription, topic, event, created_at) VALUES ($id, $subscription, $topic, $event, $now)";

    private const int MaxSettleBatch = 8192;
    private const int MaxAppendBatch = 1024;
    private const int RecoveryPage = 1000;

    private readonly SqliteDatabase _database;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lazy<Task> _schema;
    private readonly Channel<AppendRequest> _appends = Channel.CreateUnbounded<AppendRequest>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<long> _settled = Channel.CreateUnbounded<long>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _appendLoop;
    private readonly Task _settleLoop;

    /// <summary>
    /// The last row id handed out. Ids are assigned here rather than by SQLite (RETURNING doubles an insert's
    /// cost); only the database's writer thread touches it, so ids are unique and increase within a process.
    /// </summary>
    private long _lastId;

    /// <summary>Raised on the database's writer thread, so it is ordered with every append (see <see cref="AppendAsync"/>).</summary>
    private volatile bool _dispatching;

    /// <summary>The highest id written when dispatching started; kept, since the writer may run that write twice.</summary>
    private long? _watermark;

    public EventLedger(SqliteDatabase database, TimeProvider time, ILogger<EventLedger> logger)
    {
        _database = database;
        _time = time;
        _logger = logger;
        _schema = new Lazy<Task>(InitializeAsync);
        _appendLoop = Task.Run(AppendLoopAsync);
        _settleLoop = Task.Run(SettleLoopAsync);
    }

    public Task EnsureSchemaAsync() => _schema.Value;

    private async Task InitializeAsync()
    {
        await _database.ExecuteSchemaAsync(Schema).ConfigureAwait(false);
        await _database.WriteAsync(session => _lastId = (long)session.Command("SELECT coalesce(max(id), 0) FROM pubsub_ledger").ExecuteScalar()!).ConfigureAwait(false);
    }

    /// <summary>
    /// Durably records the event for each subscription and returns the row ids, plus whether the caller
    /// must dispatch them now. That flag is read on the writer thread, in commit order with
    /// <see cref="StartDispatchingAsync"/>, so every row is dispatched once per process: by its publisher
    /// when dispatching had started, by start-up recovery otherwise.
    /// </summary>
    public Task<(long[] Ids, bool Dispatch)> AppendAsync(SubscriptionDescriptor[] subscriptions, string topic, byte[] cloudEventJson, CancellationToken cancellationToken)
    {
        var request = new AppendRequest(subscriptions, topic, cloudEventJson, cancellationToken);
        ObjectDisposedException.ThrowIf(!_appends.Writer.TryWrite(request), this);
        return request.Completion.Task;
    }

    /// <summary>
    /// Appends inside a write session that is already running on the writer thread (a state transaction's
    /// events, see <see cref="Sqlite.ISqliteInlinePublisher"/>): the rows commit or roll back with it, and
    /// <paramref name="dispatch"/> runs after the commit when dispatching has started (otherwise start-up
    /// recovery delivers them, as for <see cref="AppendAsync"/>). False while the ledger is not ready yet.
    /// </summary>
    internal bool TryAppendInSession(SqliteWriteSession session, SubscriptionDescriptor[] subscriptions, string topic, byte[] cloudEventJson, Action<long[]> dispatch)
    {
        if (!_schema.IsValueCreated || !_schema.Value.IsCompletedSuccessfully)
        {
            return false;
        }

        var command = session.Command(Insert);
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        var subscription = command.Parameters.Add("$subscription", SqliteType.Text);
        command.Parameters.AddWithValue("$topic", topic);
        command.Parameters.AddWithValue("$event", cloudEventJson);
        command.Parameters.AddWithValue("$now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        var ids = new long[subscriptions.Length];
        for (var i = 0; i < subscriptions.Length; i++)
        {
            id.Value = ids[i] = ++_lastId;
            subscription.Value = subscriptions[i].Name;
            command.ExecuteNonQuery();
        }

        if (_dispatching)
        {
            session.AfterCommit(() => dispatch(ids));
        }

        return true;
    }

    /// <summary>Raises the dispatch flag on the writer thread and returns the highest id written before it: recovery's upper bound.</summary>
    public async Task<long> StartDispatchingAsync()
    {
        await EnsureSchemaAsync().ConfigureAwait(false);
        return await _database.WriteAsync(session =>
        {
            // The database runs a group again when one of its writes throws (see SqliteDatabase). Appends ahead of this
            // write in the group then see the flag already raised and are dispatched by their publisher, so the second
            // run must not move the watermark over them, or recovery would deliver them too.
            _dispatching = true;
            return _watermark ??= _lastId;
        }).ConfigureAwait(false);
    }

    /// <summary>Rows appended from now on wait for the next start (the bus is going away).</summary>
    public void StopDispatching() => _dispatching = false;

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

    /// <summary>Finishes the appends already queued, deletes every row settled so far, and stops taking more.</summary>
    public async ValueTask DisposeAsync()
    {
        _appends.Writer.TryComplete();
        _settled.Writer.TryComplete();
        await _appendLoop.ConfigureAwait(false);
        await _settleLoop.ConfigureAwait(false);
    }

    /// <summary>
    /// Writes queued appends a batch at a time, in one savepoint of the database's group commit: a savepoint
    /// per event would cost more than the inserts. Appends that queue up while a batch commits form the next one.
    /// </summary>
    private async Task AppendLoopAsync()
    {
        var batch = new List<AppendRequest>(MaxAppendBatch);
        while (await _appends.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            if (_appends.Reader.TakeBatch(batch, MaxAppendBatch, static request => request.CancellationToken.IsCancellationRequested && request.SettleCancelled()) == 0)
            {
                continue;
            }

            try
            {
                await EnsureSchemaAsync().ConfigureAwait(false);
                var now = _time.GetUtcNow().ToUnixTimeMilliseconds();
                var dispatch = await _database.WriteAsync(session =>
                {
                    var command = session.Command(Insert);
                    var id = command.Parameters.Add("$id", SqliteType.Integer);
                    var subscription = command.Parameters.Add("$subscription", SqliteType.Text);
                    var topic = command.Parameters.Add("$topic", SqliteType.Text);
                    var body = command.Parameters.Add("$event", SqliteType.Blob);
                    command.Parameters.AddWithValue("$now", now);
                    foreach (var request in batch)
                    {
                        topic.Value = request.Topic;
                        body.Value = request.CloudEventJson;
                        for (var i = 0; i < request.Subscriptions.Length; i++)
                        {
                            id.Value = request.Ids[i] = ++_lastId;
                            subscription.Value = request.Subscriptions[i].Name;
                            command.ExecuteNonQuery();
                        }
                    }

                    return _dispatching;
                }).ConfigureAwait(false);

                foreach (var request in batch)
                {
                    request.Completion.TrySetResult((request.Ids, dispatch));
                }
            }
            catch (Exception ex)
            {
                foreach (var request in batch)
                {
                    request.Completion.TrySetException(ex);
                }
            }
        }
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

    private sealed class AppendRequest(SubscriptionDescriptor[] subscriptions, string topic, byte[] cloudEventJson, CancellationToken cancellationToken)
    {
        public SubscriptionDescriptor[] Subscriptions { get; } = subscriptions;

        public string Topic { get; } = topic;

        public byte[] CloudEventJson { get; } = cloudEventJson;

        public CancellationToken CancellationToken { get; } = cancellationToken;

        /// <summary>Settles this append as cancelled; always true (it leaves the batch).</summary>
        public bool SettleCancelled()
        {
            Completion.TrySetCanceled(CancellationToken);
            return true;
        }

        public long[] Ids { get; } = new long[subscriptions.Length];

        public TaskCompletionSource<(long[] Ids, bool Dispatch)> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Deleting {Count} settled pub/sub ledger rows failed; they will be delivered again after a restart")]
    private static partial void LogSettleFailed(ILogger logger, Exception error, int count);
}
