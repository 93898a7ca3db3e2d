using Microsoft.Data.Sqlite;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Sqlite;

/// <summary>The embedded state store and outbox: tables in one SQLite file, writes through the group-commit writer.</summary>
public sealed class SqliteStateStore : IStateStore, IOutboxStore
{
    /// <summary>
    /// A rowid table with a unique index on the key, not a WITHOUT ROWID table keyed by it: in a WITHOUT ROWID table
    /// every value over about 1 KB spills into an overflow page of its own (a 1.5 KB webhook receipt wrote a 4 KB page
    /// holding 500 bytes — 5 KB of file and WAL per receipt), and appends split pages three ways. Here values up to
    /// about 4 KB stay in the row, rows are appended in rowid order, and the key index holds only keys.
    /// </summary>
    private const string StateColumns = """
        (
            id INTEGER PRIMARY KEY,
            key TEXT NOT NULL UNIQUE,
            value BLOB NOT NULL,
            etag INTEGER NOT NULL,
            expires_at INTEGER NULL
        )
        """;

    private const string Schema = "CREATE TABLE IF NOT EXISTS state " + StateColumns + ";\n" + """
        CREATE INDEX IF NOT EXISTS state_expires_at ON state (expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            topic TEXT NOT NULL,
            payload BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            lease_until INTEGER NULL
        );
        CREATE TABLE IF NOT EXISTS state_meta (name TEXT NOT NULL PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
        """;

    /// <summary>Moves a state table of the first layout (WITHOUT ROWID, keyed by the key) into the current one, in one transaction.</summary>
    private const string MigrateFromKeyedTable = """
        DROP INDEX IF EXISTS state_expires_at;
        ALTER TABLE state RENAME TO state_keyed;
        """ + "CREATE TABLE state " + StateColumns + ";\n" + """
        INSERT INTO state (key, value, etag, expires_at) SELECT key, value, etag, expires_at FROM state_keyed ORDER BY key;
        DROP TABLE state_keyed;
        """;

    private const string NotExpired = "(expires_at IS NULL OR expires_at > $now)";

    /// <summary>A key's item, its value left out when its ETag is <c>$known</c>.</summary>
    private const string SelectIfChanged = "SELECT key, CASE WHEN etag = $known THEN NULL ELSE value END, etag, expires_at FROM state WHERE key = $key AND " + NotExpired;

    private readonly SqliteDatabase _database;
    private readonly OutboxSignal _outboxSignal;
    private readonly TimeProvider _time;
    private long _lastETag;

    private SqliteStateStore(SqliteDatabase database, OutboxSignal outboxSignal, TimeProvider time)
    {
        _database = database;
        _outboxSignal = outboxSignal;
        _time = time;
    }

    public string Engine => "sqlite";

    /// <summary>Where events committed with state go when it can take them (see <see cref="ISqliteInlinePublisher"/>); else the outbox.</summary>
    public ISqliteInlinePublisher? InlinePublisher { get; set; }

    /// <summary>The database this store writes to.</summary>
    public SqliteDatabase Database => _database;

    public static async Task<SqliteStateStore> OpenAsync(SqliteDatabase database, OutboxSignal outboxSignal, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        var store = new SqliteStateStore(database, outboxSignal, time ?? TimeProvider.System);
        await database.WriteAsync(session =>
        {
            var layout = session.Command("SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = 'state'").ExecuteScalar() as string;
            if (layout?.Contains("WITHOUT ROWID", StringComparison.OrdinalIgnoreCase) is true)
            {
                using var migrate = session.Connection.CreateCommand();
                migrate.CommandText = MigrateFromKeyedTable;
                migrate.ExecuteNonQuery();
            }

            return true;
        }).ConfigureAwait(false);
        await database.ExecuteSchemaAsync(Schema).ConfigureAwait(false);
        store._lastETag = await database.WriteAsync(session =>
        {
            var command = session.Command("SELECT max(coalesce((SELECT max(etag) FROM state), 0), coalesce((SELECT value FROM state_meta WHERE name = 'etag'), 0))");
            return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
        }).ConfigureAwait(false);
        return store;
    }

    public Task<StateItem?> GetAsync(string key, CancellationToken cancellationToken = default) => GetIfChangedAsync(key, null, cancellationToken);

    public Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);

        // No ETag, or one that is not ours, compares as NULL: the value is read.
        object known = StateETags.TryParse(knownETag, out var version) ? version : DBNull.Value;
        return _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = SelectIfChanged;
            command.Parameters.AddWithValue("$key", key);
            command.Parameters.AddWithValue("$known", known);
            command.Parameters.AddWithValue("$now", NowMs());
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            return await reader.ReadAsync(ct).ConfigureAwait(false) ? ReadItem(reader) : null;
        }, cancellationToken);
    }

    /// <summary>The single-key read of <see cref="GetIfChangedAsync"/>, prepared once and run for each key on one connection.</summary>
    public Task<IReadOnlyList<StateItem>> GetBulkIfChangedAsync(IReadOnlyCollection<KeyValuePair<string, string?>> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var (key, _) in keys)
        {
            StateKeys.Validate(key);
        }

        return _database.ReadAsync<IReadOnlyList<StateItem>>(async (connection, ct) =>
        {
            var items = new List<StateItem>(keys.Count);
            await using var command = connection.CreateCommand();
            command.CommandText = SelectIfChanged;
            var keyParameter = command.Parameters.Add("$key", SqliteType.Text);
            var knownParameter = command.Parameters.Add("$known", SqliteType.Integer);
            command.Parameters.AddWithValue("$now", NowMs());
            command.Prepare();
            foreach (var (key, knownETag) in keys)
            {
                keyParameter.Value = key;
                knownParameter.Value = StateETags.TryParse(knownETag, out var version) ? version : DBNull.Value;
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                if (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    items.Add(ReadItem(reader));
                }
            }

            return items;
        }, cancellationToken);
    }

    public Task<IReadOnlyList<StateItem>> GetBulkAsync(IReadOnlyCollection<string> keys, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        foreach (var key in keys)
        {
            StateKeys.Validate(key);
        }

        return _database.ReadAsync<IReadOnlyList<StateItem>>(async (connection, ct) =>
        {
            var items = new List<StateItem>(keys.Count);
            foreach (var chunk in keys.Distinct(StringComparer.Ordinal).Chunk(500))
            {
                await using var command = connection.CreateCommand();
                var names = new string[chunk.Length];
                for (var i = 0; i < chunk.Length; i++)
                {
                    names[i] = "$k" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    command.Parameters.AddWithValue(names[i], chunk[i]);
                }

                command.CommandText = $"SELECT key, value, etag, expires_at FROM state WHERE key IN ({string.Join(',', names)}) AND {NotExpired}";
                command.Parameters.AddWithValue("$now", NowMs());
                await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
                while (await reader.ReadAsync(ct).ConfigureAwait(false))
                {
                    items.Add(ReadItem(reader));
                }
            }

            return items;
        }, cancellationToken);
    }

    public Task<string> SaveAsync(string key, ReadOnlyMemory<byte> value, StateWriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        var upsert = new StateOperation.Upsert(key, value, options ?? StateWriteOptions.LastWriteWins);
        StateKeys.Validate(upsert);
        return _database.WriteAsync(session => Apply(session, upsert, NowMs()), cancellationToken);
    }

    public Task<bool> DeleteAsync(string key, string? etag = null, CancellationToken cancellationToken = default)
    {
        StateKeys.Validate(key);
        return _database.WriteAsync(session => ApplyDelete(session, new StateOperation.Delete(key, etag), NowMs()), cancellationToken);
    }

    public Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        foreach (var operation in transaction.Operations)
        {
            StateKeys.Validate(operation);
        }

        var events = transaction.Events.Select(e => (e.Topic, Payload: e.Serialize(_outboxSignal.Topics))).ToList();
        return _database.WriteAsync<IReadOnlyList<string>>(session =>
        {
            var now = NowMs();
            var etags = new List<string>(transaction.Operations.Count);
            foreach (var operation in transaction.Operations)
            {
                etags.Add(operation switch
                {
                    StateOperation.Upsert upsert => Apply(session, upsert, now),
                    StateOperation.Delete delete => ApplyDelete(session, delete, now) ? string.Empty : string.Empty,
                    _ => throw new ArgumentException($"Unknown operation {operation.GetType().Name}.", nameof(transaction)),
                });
            }

            var outboxed = false;
            var inline = InlinePublisher;
            foreach (var (topic, payload) in events)
            {
                if (inline?.TryAppend(session, topic, payload) is true)
                {
                    continue;
                }

                var insert = session.Command("INSERT INTO outbox (topic, payload, created_at) VALUES ($topic, $payload, $now)");
                insert.Parameters.AddWithValue("$topic", topic);
                insert.Parameters.AddWithValue("$payload", payload);
                insert.Parameters.AddWithValue("$now", now);
                insert.ExecuteNonQuery();
                outboxed = true;
            }

            if (outboxed)
            {
                session.AfterCommit(_outboxSignal.Notify);
            }

            return etags;
        }, cancellationToken);
    }

    public Task<KeyPage> ListKeysAsync(string prefix, int pageSize = 100, string? continuationToken = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(pageSize, StateKeys.MaxPageSize);
        var after = StateETags.FromContinuationToken(continuationToken);
        var upper = StateETags.UpperBound(prefix);
        return _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = $"""
                SELECT key FROM state
                WHERE key >= $prefix {(upper is null ? string.Empty : "AND key < $upper")} AND substr(key, 1, $length) = $prefix
                  AND ($after IS NULL OR key > $after) AND {NotExpired}
                ORDER BY key LIMIT $limit
                """;
            command.Parameters.AddWithValue("$prefix", prefix);
            command.Parameters.AddWithValue("$length", prefix.Length);
            command.Parameters.AddWithValue("$after", (object?)after ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", NowMs());
            command.Parameters.AddWithValue("$limit", pageSize + 1);
            if (upper is not null)
            {
                command.Parameters.AddWithValue("$upper", upper);
            }

            var keys = new List<string>(pageSize + 1);
            await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
            while (await reader.ReadAsync(ct).ConfigureAwait(false))
            {
                keys.Add(reader.GetString(0));
            }

            return KeyPage.FromOverfetch(keys, pageSize);
        }, cancellationToken);
    }

    public Task PingAsync(CancellationToken cancellationToken = default) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT 1";
            return await command.ExecuteScalarAsync(ct).ConfigureAwait(false);
        }, cancellationToken);

    public Task<IReadOnlyList<OutboxMessage>> LeaseAsync(int max, TimeSpan leaseFor, CancellationToken cancellationToken = default) =>
        _database.WriteAsync<IReadOnlyList<OutboxMessage>>(session =>
        {
            var now = NowMs();
            var command = session.Command("""
                UPDATE outbox SET lease_until = $until
                WHERE id IN (SELECT id FROM outbox WHERE lease_until IS NULL OR lease_until <= $now ORDER BY id LIMIT $max)
                RETURNING id, topic, payload, created_at
                """);
            command.Parameters.AddWithValue("$until", now + (long)leaseFor.TotalMilliseconds);
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$max", max);
            var messages = new List<OutboxMessage>();
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                messages.Add(new OutboxMessage(reader.GetInt64(0), reader.GetString(1), (byte[])reader.GetValue(2), DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3))));
            }

            messages.Sort((a, b) => a.Id.CompareTo(b.Id));
            return messages;
        }, cancellationToken);

    public Task CompleteAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) =>
        ForEachOutboxRowAsync("DELETE FROM outbox WHERE id = $id", ids, cancellationToken);

    public Task ReleaseAsync(IReadOnlyCollection<long> ids, CancellationToken cancellationToken = default) =>
        ForEachOutboxRowAsync("UPDATE outbox SET lease_until = NULL WHERE id = $id", ids, cancellationToken);

    /// <summary>Runs one statement (with <c>$id</c>) for each outbox row, in one write.</summary>
    private Task<bool> ForEachOutboxRowAsync(string sql, IReadOnlyCollection<long> ids, CancellationToken cancellationToken) =>
        _database.WriteAsync(session =>
        {
            var command = session.Command(sql);
            var id = command.Parameters.Add("$id", SqliteType.Integer);
            foreach (var value in ids)
            {
                id.Value = value;
                command.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken);

    public Task<long> CountAsync(CancellationToken cancellationToken = default) =>
        _database.ReadAsync(async (connection, ct) =>
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT count(*) FROM outbox";
            return Convert.ToInt64(await command.ExecuteScalarAsync(ct).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture);
        }, cancellationToken);

    /// <summary>Deletes expired rows; called periodically by the TTL sweeper.</summary>
    public Task<int> SweepExpiredAsync(CancellationToken cancellationToken = default) =>
        _database.WriteAsync(session =>
        {
            var command = session.Command("DELETE FROM state WHERE expires_at IS NOT NULL AND expires_at <= $now");
            command.Parameters.AddWithValue("$now", NowMs());
            return command.ExecuteNonQuery();
        }, cancellationToken);

    /// <summary>Runs on the writer thread.</summary>
    private string Apply(SqliteWriteSession session, StateOperation.Upsert upsert, long now)
    {
        var etag = ++_lastETag;
        var expiresAt = upsert.Options.Ttl is { } ttl ? now + (long)ttl.TotalMilliseconds : (long?)null;
        SqliteCommand command;
        if (upsert.Options.ETag is { } expected)
        {
            if (!StateETags.TryParse(expected, out var version))
            {
                throw new ETagMismatchException(upsert.Key);
            }

            command = session.Command($"UPDATE state SET value = $value, etag = $etag, expires_at = $expires WHERE key = $key AND etag = $expected AND {NotExpired}");
            command.Parameters.AddWithValue("$expected", version);
        }
        else if (upsert.Options.OnlyIfAbsent)
        {
            command = session.Command("""
                INSERT INTO state (key, value, etag, expires_at) VALUES ($key, $value, $etag, $expires)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
                WHERE state.expires_at IS NOT NULL AND state.expires_at <= $now
                """);
        }
        else
        {
            command = session.Command("""
                INSERT INTO state (key, value, etag, expires_at) VALUES ($key, $value, $etag, $expires)
                ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
                """);
        }

        command.Parameters.AddWithValue("$key", upsert.Key);
        command.Parameters.Add("$value", SqliteType.Blob).Value = StateValues.AsArray(upsert.Value);
        command.Parameters.AddWithValue("$etag", etag);
        command.Parameters.AddWithValue("$expires", (object?)expiresAt ?? DBNull.Value);
        command.Parameters.AddWithValue("$now", now);
        if (command.ExecuteNonQuery() == 0)
        {
            throw new ETagMismatchException(upsert.Key);
        }

        return StateETags.Format(etag);
    }

    private bool ApplyDelete(SqliteWriteSession session, StateOperation.Delete delete, long now)
    {
        RememberETag(session);
        SqliteCommand command;
        if (delete.ETag is { } expected)
        {
            if (!StateETags.TryParse(expected, out var version))
            {
                throw new ETagMismatchException(delete.Key);
            }

            command = session.Command($"DELETE FROM state WHERE key = $key AND etag = $expected AND {NotExpired}");
            command.Parameters.AddWithValue("$expected", version);
        }
        else
        {
            command = session.Command($"DELETE FROM state WHERE key = $key RETURNING {NotExpired}");
        }

        command.Parameters.AddWithValue("$key", delete.Key);
        command.Parameters.AddWithValue("$now", now);
        if (delete.ETag is not null)
        {
            return command.ExecuteNonQuery() != 0 ? true : throw new ETagMismatchException(delete.Key);
        }

        var existed = command.ExecuteScalar();
        return existed is long live && live != 0;
    }

    /// <summary>Keeps the ETag high-water mark so a deleted key's ETag is never handed out again after a restart.</summary>
    private void RememberETag(SqliteWriteSession session)
    {
        var command = session.Command("INSERT INTO state_meta (name, value) VALUES ('etag', $value) ON CONFLICT (name) DO UPDATE SET value = excluded.value");
        command.Parameters.AddWithValue("$value", _lastETag);
        command.ExecuteNonQuery();
    }

    private long NowMs() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static StateItem ReadItem(SqliteDataReader reader) => new(
        reader.GetString(0),
        reader.IsDBNull(1) ? ReadOnlyMemory<byte>.Empty : (byte[])reader.GetValue(1),
        StateETags.Format(reader.GetInt64(2)),
        reader.IsDBNull(3) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)));
}
