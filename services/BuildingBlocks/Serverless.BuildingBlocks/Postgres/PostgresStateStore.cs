using Npgsql;
using NpgsqlTypes;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>
/// The distributed state store and outbox on PostgreSQL. Every write is one round trip (writes that arrive together share one, see the batchers); ETags come from
/// one sequence; the outbox is shared by all instances through leases taken with SKIP LOCKED.
/// </summary>
public sealed partial class PostgresStateStore : IStateStore, IOutboxStore, IAsyncDisposable
{
    private const string NotExpired = "(expires_at IS NULL OR expires_at > now())";

    private readonly NpgsqlDataSource _dataSource;
    private readonly OutboxSignal _outboxSignal;
    private readonly string _s;
    private readonly string _upsertSql;
    private readonly string _createSql;
    private readonly string _createInTransactionSql;
    private readonly string _updateInTransactionSql;
    private readonly string _updateSql;
    private readonly string _deleteSql;
    private readonly string _deleteCheckedSql;
    private readonly string _outboxInsertSql;
    private readonly string _outboxHandoffInsertSql;

    /// <summary>The SQLSTATE <c>state_expect</c> raises when a conditional write in a transaction finds its condition false.</summary>
    private const string ETagMismatchState = "SL409";
    private readonly PostgresSaveBatcher _saves;
    private readonly PostgresTransactionBatcher _transactions;

    private PostgresStateStore(NpgsqlDataSource dataSource, string schema, OutboxSignal outboxSignal)
    {
        _dataSource = dataSource;
        _outboxSignal = outboxSignal;
        _s = PostgresSchemaName.Validate(schema);
        _upsertSql = $"""
            INSERT INTO {_s}.state (key, value, etag, expires_at) VALUES ($1, $2, nextval('{_s}.state_etag'), now() + $3)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
            RETURNING etag
            """;
        _createSql = $"""
            INSERT INTO {_s}.state AS s (key, value, etag, expires_at) VALUES ($1, $2, nextval('{_s}.state_etag'), now() + $3)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
            WHERE s.expires_at IS NOT NULL AND s.expires_at <= now()
            RETURNING etag
            """;
        _updateSql = $"UPDATE {_s}.state SET value = $2, etag = nextval('{_s}.state_etag'), expires_at = now() + $3 WHERE key = $1 AND etag = $4 AND {NotExpired} RETURNING etag";

        // Inside a transaction a failed condition raises, so the statements after it never apply. A create-only write
        // raises from the conflict arm itself (only when the key is taken: a fresh key costs a plain insert); an
        // ETag-checked update that matched no row raises from the wrapper.
        _createInTransactionSql = $"""
            INSERT INTO {_s}.state AS s (key, value, etag, expires_at) VALUES ($1, $2, nextval('{_s}.state_etag'), now() + $3)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
            WHERE CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= now() THEN true ELSE {_s}.state_taken(s.key) END
            RETURNING etag
            """;
        _updateInTransactionSql = $"WITH w AS ({_updateSql}) SELECT {_s}.state_expect((SELECT etag FROM w), $1)";
        _deleteSql = $"DELETE FROM {_s}.state WHERE key = $1 RETURNING {NotExpired}";
        _deleteCheckedSql = $"DELETE FROM {_s}.state WHERE key = $1 AND etag = $2 AND {NotExpired}";
        _outboxInsertSql = $"INSERT INTO {_s}.outbox (topic, payload) VALUES ($1, $2)";
        _outboxHandoffInsertSql = $"INSERT INTO {_s}.outbox (topic, payload, lease_until) VALUES ($1, $2, now() + $3) RETURNING id, created_at";
        _saves = new PostgresSaveBatcher(this, dataSource);
        _transactions = new PostgresTransactionBatcher(this, dataSource);
    }

    public string Engine => "postgresql";

    /// <summary>The group commit of transactions (its counters, for tests).</summary>
    internal PostgresTransactionBatcher Transactions => _transactions;

    /// <summary>Creates the schema and tables if needed (serialised by an advisory lock, so instances may start together).</summary>
    public static async Task<PostgresStateStore> OpenAsync(NpgsqlDataSource dataSource, string schema, OutboxSignal outboxSignal, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        var store = new PostgresStateStore(dataSource, schema, outboxSignal);
        var s = store._s;
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = connection.CreateCommand();
        command.CommandText = $"""
            SELECT pg_advisory_xact_lock(7337001);
            CREATE SCHEMA IF NOT EXISTS {s};
            CREATE SEQUENCE IF NOT EXISTS {s}.state_etag;
            CREATE TABLE IF NOT EXISTS {s}.state (
                key text COLLATE "C" NOT NULL PRIMARY KEY,
                value bytea NOT NULL,
                etag bigint NOT NULL,
                expires_at timestamptz NULL
            );
            CREATE INDEX IF NOT EXISTS state_expires_at ON {s}.state (expires_at) WHERE expires_at IS NOT NULL;
            CREATE TABLE IF NOT EXISTS {s}.outbox (
                id bigserial PRIMARY KEY,
                topic text NOT NULL,
                payload bytea NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                lease_until timestamptz NULL
            );
            CREATE OR REPLACE FUNCTION {s}.state_expect(etag bigint, state_key text) RETURNS bigint LANGUAGE plpgsql AS $$
            BEGIN
                IF etag IS NULL THEN
                    RAISE EXCEPTION 'etag mismatch' USING ERRCODE = '{ETagMismatchState}', DETAIL = state_key;
                END IF;
                RETURN etag;
            END $$;
            CREATE OR REPLACE FUNCTION {s}.state_taken(state_key text) RETURNS boolean LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'etag mismatch' USING ERRCODE = '{ETagMismatchState}', DETAIL = state_key;
            END $$;
            """;
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    public Task<StateItem?> GetAsync(string key, CancellationToken cancellationToken = default) => GetIfChangedAsync(key, null, cancellationToken);

    public async Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        await using var command = _dataSource.CreateCommand($"SELECT key, CASE WHEN etag = $2 THEN NULL ELSE value END, etag, expires_at FROM {_s}.state WHERE key = $1 AND {NotExpired}");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key });

        // No ETag, or one that is not ours, compares as NULL: the value is read.
        command.Parameters.Add(new NpgsqlParameter<long?> { TypedValue = StateETags.TryParse(knownETag, out var version) ? version : null, NpgsqlDbType = NpgsqlDbType.Bigint });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadItem(reader) : null;
    }

    public async Task<IReadOnlyList<StateItem>> GetBulkIfChangedAsync(IReadOnlyCollection<KeyValuePair<string, string?>> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        var names = new string[keys.Count];
        var known = new long?[keys.Count];
        var i = 0;
        foreach (var (key, knownETag) in keys)
        {
            StateKeys.Validate(key);
            names[i] = key;
            known[i++] = StateETags.TryParse(knownETag, out var version) ? version : null;
        }

        // The same comparison as GetIfChangedAsync, joined on the keys given (a key given twice comes back twice).
        await using var command = _dataSource.CreateCommand($"""
            SELECT s.key, CASE WHEN s.etag = k.etag THEN NULL ELSE s.value END, s.etag, s.expires_at
            FROM unnest($1::text[], $2::bigint[]) AS k(key, etag) JOIN {_s}.state s ON s.key = k.key
            WHERE s.expires_at IS NULL OR s.expires_at > now()
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = names });
        command.Parameters.Add(new NpgsqlParameter<long?[]> { TypedValue = known, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint });
        var items = new List<StateItem>(keys.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(ReadItem(reader));
        }

        return items;
    }

    public async Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            StateKeys.Validate(key);
        }

        await using var command = _dataSource.CreateCommand($"SELECT key, value, etag, expires_at FROM {_s}.state WHERE key = ANY($1) AND {NotExpired}");
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = keys.Distinct(StringComparer.Ordinal).ToArray() });
        var items = new List<StateItem>(keys.Count);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            items.Add(ReadItem(reader));
        }

        return items;
    }

    public Task<string> SaveAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        var upsert = new StateOperation.Upsert(key, value, options ?? StateWriteOptions.LastWriteWins);
        StateKeys.Validate(upsert);
        return _saves.SaveAsync(upsert, cancellationToken);
    }

    /// <summary>Runs one write on its own (the batcher's fallback when a whole batch fails).</summary>
    internal async Task<string> SaveAloneAsync(StateOperation.Upsert upsert, CancellationToken cancellationToken)
    {
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ApplyAsync(connection, upsert, cancellationToken).ConfigureAwait(false);
    }

    public async Task<bool> DeleteAsync(string key, string? etag = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return await ApplyDeleteAsync(connection, new StateOperation.Delete(key, etag), cancellationToken).ConfigureAwait(false);
    }

    public Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        foreach (var operation in transaction.Operations)
        {
            StateKeys.Validate(operation);
        }

        // While this process's relay takes handed-over rows, the rows are written leased to it (see OutboxSignal).
        var handOff = transaction.Events.Count > 0 && _outboxSignal.TakesHandoffs;
        return _transactions.TransactAsync(new PendingTransaction(transaction.Operations, [.. transaction.Events.Select(e => (e.Topic, e.Serialize(_outboxSignal.Topics)))], handOff), cancellationToken);
    }

    /// <summary>
    /// One transaction on its own, in one round trip: every operation and outbox row in one batch, which PostgreSQL
    /// runs as one implicit transaction. A conditional write whose ETag or create-only check fails raises
    /// (state_expect), which aborts the whole batch — all or nothing, without a round trip per operation.
    /// </summary>
    internal async Task<IReadOnlyList<string>> TransactAloneAsync(PendingTransaction transaction, CancellationToken cancellationToken)
    {
        var batch = new NpgsqlBatch();
        await using (batch.ConfigureAwait(false))
        {
            var outboxMerged = CanMergeOutbox([transaction]);
            if (outboxMerged)
            {
                AddMergedOutbox(batch, [transaction]);
            }

            AddCommands(batch, transaction, outboxMerged: outboxMerged);
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            batch.Connection = connection;
            try
            {
                await using var reader = await batch.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var outboxRows = outboxMerged ? await ReadMergedOutboxAsync(reader, cancellationToken).ConfigureAwait(false) : null;
                var results = await ReadResultsAsync(reader, transaction, positioned: !outboxMerged, cancellationToken, mergedOutbox: outboxRows).ConfigureAwait(false);
                await reader.DisposeAsync().ConfigureAwait(false);
                AfterCommit(transaction, results);
                return results.ETags;
            }
            catch (PostgresException ex) when (ex.SqlState == ETagMismatchState)
            {
                throw new ETagMismatchException(ex.Detail ?? string.Empty);
            }
        }
    }

    /// <summary>
    /// Appends the transaction's operations and outbox rows; only the operations return rows. With
    /// <paramref name="merged"/>, its unconditional and create-only writes are left out (the group's multi-row statements
    /// carry them); with <paramref name="outboxMerged"/>, its outbox rows (<see cref="AddMergedOutbox"/> carries them).
    /// </summary>
    internal void AddCommands(NpgsqlBatch batch, PendingTransaction transaction, bool merged = false, bool outboxMerged = false)
    {
        foreach (var operation in transaction.Operations)
        {
            if (merged && IsMergeable(operation))
            {
                continue;
            }

            batch.BatchCommands.Add(operation switch
            {
                StateOperation.Upsert upsert => UpsertInTransaction(upsert),
                StateOperation.Delete delete => DeleteInTransaction(delete),
                _ => throw new ArgumentException($"Unknown operation {operation.GetType().Name}.", nameof(transaction)),
            });
        }

        foreach (var (topic, payload) in outboxMerged ? [] : transaction.Events)
        {
            var insert = new NpgsqlBatchCommand(transaction.HandOff ? _outboxHandoffInsertSql : _outboxInsertSql);
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = topic });
            insert.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = payload });
            if (transaction.HandOff)
            {
                insert.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = OutboxSignal.HandoffLease });
            }

            batch.BatchCommands.Add(insert);
        }
    }

    /// <summary>
    /// Reads the transaction's results: one per operation, then (when its rows are handed over) one per outbox row.
    /// <paramref name="positioned"/>: the reader stands on this transaction's first result (nothing was read before
    /// it); otherwise it moves to each result before reading it, so an error raised by one of this transaction's
    /// statements surfaces while its results are being read.
    /// </summary>
    /// <paramref name="merged"/>: the ETags the group's multi-row statements returned, by key, for the writes they carried.
    /// <paramref name="mergedOutbox"/>: the rows of the group's outbox statement not yet taken, this transaction's first.
    internal static async Task<TransactionResults> ReadResultsAsync(NpgsqlDataReader reader, PendingTransaction transaction, bool positioned, CancellationToken cancellationToken, IReadOnlyDictionary<string, long>? merged = null, Queue<(long Id, DateTimeOffset CreatedAt)>? mergedOutbox = null)
    {
        async Task NextAsync()
        {
            if (!positioned)
            {
                await reader.NextResultAsync(cancellationToken).ConfigureAwait(false);
            }

            positioned = false;
        }

        var etags = new List<string>(transaction.Operations.Count);
        foreach (var operation in transaction.Operations)
        {
            if (merged is not null && IsMergeable(operation))
            {
                etags.Add(merged.TryGetValue(operation.Key, out var etag) ? StateETags.Format(etag) : throw new ETagMismatchException(operation.Key));
                continue;
            }

            await NextAsync().ConfigureAwait(false);
            if (operation is StateOperation.Upsert)
            {
                etags.Add(await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? StateETags.Format(reader.GetInt64(0)) : throw new ETagMismatchException(operation.Key));
            }
            else
            {
                etags.Add(string.Empty);
            }
        }

        var rows = new List<OutboxMessage>(transaction.HandOff ? transaction.Events.Count : 0);
        if (mergedOutbox is not null)
        {
            foreach (var (topic, payload) in transaction.Events)
            {
                var (id, createdAt) = mergedOutbox.Dequeue();
                if (transaction.HandOff)
                {
                    rows.Add(new OutboxMessage(id, topic, payload, createdAt));
                }
            }
        }
        else if (transaction.HandOff)
        {
            foreach (var (topic, payload) in transaction.Events)
            {
                await NextAsync().ConfigureAwait(false);
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException("An outbox insert returned no row.");
                }

                rows.Add(new OutboxMessage(reader.GetInt64(0), topic, payload, reader.GetFieldValue<DateTimeOffset>(1)));
            }
        }

        return new TransactionResults(etags, rows);
    }

    /// <summary>Whether a transaction's batch has statements that return rows (the reader stops only at those).</summary>
    internal static bool ReturnsRows(PendingTransaction transaction, bool merged = false, bool outboxMerged = false) =>
        (merged ? transaction.Operations.Any(o => !IsMergeable(o)) : transaction.Operations.Count > 0) || (!outboxMerged && transaction.HandOff && transaction.Events.Count > 0);

    internal static bool IsETagMismatch(PostgresException exception) => exception.SqlState == ETagMismatchState;

    /// <summary>After the commit: the relay gets the rows (or, when it does not take them, a wake-up).</summary>
    internal void AfterCommit(PendingTransaction transaction, TransactionResults results)
    {
        if (transaction.Events.Count == 0)
        {
            return;
        }

        var handed = true;
        foreach (var row in results.OutboxRows)
        {
            handed &= _outboxSignal.Hand(row);
        }

        if (!transaction.HandOff || !handed)
        {
            _outboxSignal.Notify();
        }
    }

    /// <summary>A write inside a transaction batch: it returns the new ETag, and raises when its condition fails.</summary>
    private NpgsqlBatchCommand UpsertInTransaction(StateOperation.Upsert upsert)
    {
        var command = new NpgsqlBatchCommand(upsert.Options.ETag is not null ? _updateInTransactionSql : upsert.Options.OnlyIfAbsent ? _createInTransactionSql : _upsertSql);
        AddUpsertParameters(command.Parameters, upsert);
        return command;
    }

    /// <summary>A delete inside a transaction batch; one with an ETag raises when nothing with that ETag was deleted.</summary>
    private NpgsqlBatchCommand DeleteInTransaction(StateOperation.Delete delete)
    {
        if (delete.ETag is null)
        {
            var plain = new NpgsqlBatchCommand(_deleteSql);
            plain.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delete.Key });
            return plain;
        }

        var command = new NpgsqlBatchCommand($"WITH d AS ({_deleteCheckedSql} RETURNING 0::bigint AS ok) SELECT {_s}.state_expect((SELECT ok FROM d), $1)");
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delete.Key });

        // An ETag that is not one of ours can never match; -1 never does.
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = StateETags.TryParse(delete.ETag, out var expected) ? expected : -1 });
        return command;
    }

    public async Task<KeyPage> ListKeysAsync(string prefix, int pageSize = 100, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, StateKeys.MaxPageSize);
        var after = StateETags.FromContinuationToken(continuationToken);
        var upper = StateETags.UpperBound(prefix);
        await using var command = _dataSource.CreateCommand($"""
            SELECT key FROM {_s}.state
            WHERE key >= $1 {(upper is null ? string.Empty : "AND key < $4")} AND starts_with(key, $1)
              AND ($2::text IS NULL OR key > $2) AND {NotExpired}
            ORDER BY key LIMIT $3
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = prefix });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)after ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = pageSize + 1 });
        if (upper is not null)
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = upper });
        }

        var keys = new List<string>(pageSize + 1);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            keys.Add(reader.GetString(0));
        }

        return KeyPage.FromOverfetch(keys, pageSize);
    }

    public Task PingAsync(CancellationToken cancellationToken = default) => PostgresDataSource.PingAsync(_dataSource, cancellationToken);

    public async Task<IReadOnlyList<OutboxMessage>> LeaseAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"""
            UPDATE {_s}.outbox SET lease_until = now() + $1
            WHERE id IN (SELECT id FROM {_s}.outbox WHERE lease_until IS NULL OR lease_until <= now() ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
            RETURNING id, topic, payload, created_at
            """);
        command.Parameters.Add(new NpgsqlParameter<TimeSpan> { TypedValue = leaseFor });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = max });
        var messages = new List<OutboxMessage>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            messages.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<byte[]>(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        messages.Sort((a, b) => a.Id.CompareTo(b.Id));
        return messages;
    }

    public async Task CompleteAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_s}.outbox WHERE id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids.ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"UPDATE {_s}.outbox SET lease_until = NULL WHERE id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = ids.ToArray() });
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> CountAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"SELECT count(*) FROM {_s}.outbox");
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Deletes expired rows; called periodically by the TTL sweeper.</summary>
    public async Task<int> SweepExpiredAsync(CancellationToken cancellationToken = default)
    {
        await using var command = _dataSource.CreateCommand($"DELETE FROM {_s}.state WHERE expires_at IS NOT NULL AND expires_at <= now()");
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<string> ApplyAsync(NpgsqlConnection connection, StateOperation.Upsert upsert, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(UpsertSql(upsert), connection);
        AddUpsertParameters(command.Parameters, upsert);
        var result = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        return result is long version ? StateETags.Format(version) : throw new ETagMismatchException(upsert.Key);
    }

    /// <summary>The statement for one write; it returns the new ETag, or no row when the ETag or create-only check fails.</summary>
    internal string UpsertSql(StateOperation.Upsert upsert) =>
        upsert.Options.ETag is not null ? _updateSql : upsert.Options.OnlyIfAbsent ? _createSql : _upsertSql;

    internal static void AddUpsertParameters(NpgsqlParameterCollection parameters, StateOperation.Upsert upsert)
    {
        parameters.Add(new NpgsqlParameter<string> { TypedValue = upsert.Key });
        parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = upsert.Value, NpgsqlDbType = NpgsqlDbType.Bytea });
        parameters.Add(new NpgsqlParameter
        {
            Value = upsert.Options.Ttl is { } ttl ? ttl : DBNull.Value,
            NpgsqlDbType = NpgsqlDbType.Interval,
        });
        if (upsert.Options.ETag is { } etag)
        {
            // An ETag that is not one of ours can never match; -1 never does.
            parameters.Add(new NpgsqlParameter<long> { TypedValue = StateETags.TryParse(etag, out var expected) ? expected : -1 });
        }
    }

    private async Task<bool> ApplyDeleteAsync(NpgsqlConnection connection, StateOperation.Delete delete, CancellationToken cancellationToken)
    {
        if (delete.ETag is null)
        {
            await using var plain = new NpgsqlCommand(_deleteSql, connection);
            plain.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delete.Key });
            return await plain.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is true;
        }

        if (!StateETags.TryParse(delete.ETag, out var expected))
        {
            throw new ETagMismatchException(delete.Key);
        }

        await using var command = new NpgsqlCommand(_deleteCheckedSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = delete.Key });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = expected });
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1 ? true : throw new ETagMismatchException(delete.Key);
    }

    public async ValueTask DisposeAsync()
    {
        await _transactions.DisposeAsync().ConfigureAwait(false);
        await _saves.DisposeAsync().ConfigureAwait(false);
    }

    private static StateItem ReadItem(NpgsqlDataReader reader) => new(
        reader.GetString(0),
        reader.IsDBNull(1) ? ReadOnlyMemory<byte>.Empty : reader.GetFieldValue<byte[]>(1),
        StateETags.Format(reader.GetInt64(2)),
        reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
}
