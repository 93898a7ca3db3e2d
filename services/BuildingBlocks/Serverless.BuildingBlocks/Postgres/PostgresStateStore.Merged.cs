using Npgsql;
using NpgsqlTypes;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>
/// Multi-row writes for a group commit: when the transactions of a group touch every key at most once, their
/// unconditional writes go to PostgreSQL as one INSERT … SELECT FROM unnest(keys, values, lifetimes) … ON CONFLICT DO
/// UPDATE, and their create-only writes as one more (raising from the conflict arm when a key is taken, as the
/// single-row statement does), instead of one statement per write. PostgreSQL then starts the executor, checks the
/// conflict and answers once per group rather than once per row (measured with pgbench: about a third less server time
/// per row). The group's outbox rows go as one more (see <see cref="AddMergedOutbox"/>). Everything else — ETag-checked
/// writes, deletes — is sent per statement after them, as before.
/// </summary>
/// <remarks>
/// Order inside a group does not matter when no key repeats: each write touches its own row, and a failed create-only
/// check aborts the whole plain attempt either way (the batcher then sends the group with savepoints, one transaction
/// after another, and these statements are not used). A key written twice in one group (the same row twice in one
/// multi-row upsert is an error in PostgreSQL, and the order would matter) keeps the statement per write.
/// </remarks>
public sealed partial class PostgresStateStore
{
    /// <summary>Groups with fewer writes to merge than this keep one statement per write (nothing to gain).</summary>
    private const int MinimumMerged = 2;

    private string UpsertManySql => field ??= $"""
        INSERT INTO {_s}.state (key, value, etag, expires_at)
        SELECT u.key, u.value, nextval('{_s}.state_etag'), now() + u.ttl FROM unnest($1::text[], $2::bytea[], $3::interval[]) AS u(key, value, ttl)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
        RETURNING key, etag
        """;

    private string CreateManySql => field ??= $"""
        INSERT INTO {_s}.state AS s (key, value, etag, expires_at)
        SELECT u.key, u.value, nextval('{_s}.state_etag'), now() + u.ttl FROM unnest($1::text[], $2::bytea[], $3::interval[]) AS u(key, value, ttl)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at
        WHERE CASE WHEN s.expires_at IS NOT NULL AND s.expires_at <= now() THEN true ELSE {_s}.state_taken(s.key) END
        RETURNING key, etag
        """;

    /// <summary>
    /// The outbox rows of several transactions in one statement. The rows are inserted in the order given (ids from
    /// the one sequence, ascending), each handed-over row leased (a null lease leaves the row to the relay's poll).
    /// </summary>
    private string OutboxManySql => field ??= $"""
        INSERT INTO {_s}.outbox (topic, payload, lease_until)
        SELECT u.topic, u.payload, now() + u.lease FROM unnest($1::text[], $2::bytea[], $3::interval[]) WITH ORDINALITY AS u(topic, payload, lease, n)
        ORDER BY u.n
        RETURNING id, created_at
        """;

    /// <summary>Whether the outbox rows of these transactions go as one statement: two rows or more in all.</summary>
    internal static bool CanMergeOutbox(IReadOnlyList<PendingTransaction> transactions) =>
        transactions.Sum(t => t.Events.Count) >= MinimumMerged;

    /// <summary>
    /// Appends one statement for the outbox rows of all <paramref name="transactions"/>, in their order; read its result
    /// with <see cref="ReadMergedOutboxAsync"/> and hand it to each transaction's <see cref="ReadResultsAsync"/>.
    /// </summary>
    internal void AddMergedOutbox(NpgsqlBatch batch, IReadOnlyList<PendingTransaction> transactions)
    {
        var rows = transactions.SelectMany(t => t.Events.Select(e => (e.Topic, e.Payload, t.HandOff))).ToList();
        var command = new NpgsqlBatchCommand(OutboxManySql);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. rows.Select(r => r.Topic)] });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. rows.Select(r => r.Payload)] });
        command.Parameters.Add(new NpgsqlParameter<TimeSpan?[]> { TypedValue = [.. rows.Select(r => r.HandOff ? OutboxSignal.HandoffLease : (TimeSpan?)null)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Interval });
        batch.BatchCommands.Add(command);
    }

    /// <summary>Reads the result the reader stands on of <see cref="AddMergedOutbox"/>'s statement: each row's id and time, in the order given.</summary>
    internal static async Task<Queue<(long Id, DateTimeOffset CreatedAt)>> ReadMergedOutboxAsync(NpgsqlDataReader reader, CancellationToken cancellationToken)
    {
        var rows = new List<(long Id, DateTimeOffset CreatedAt)>();
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add((reader.GetInt64(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        // Inserted in the order given, so their ids ascend in it (whatever order RETURNING lists them in).
        rows.Sort((a, b) => a.Id.CompareTo(b.Id));
        return new Queue<(long Id, DateTimeOffset CreatedAt)>(rows);
    }

    /// <summary>A write the multi-row statements can carry: no ETag to check.</summary>
    internal static bool IsMergeable(StateOperation operation) => operation is StateOperation.Upsert { Options.ETag: null };

    /// <summary>
    /// Whether the group's writes go as multi-row statements: no key twice in the whole group, and at least
    /// <see cref="MinimumMerged"/> writes to merge.
    /// </summary>
    internal static bool CanMerge(IReadOnlyList<PendingTransaction> group)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        var mergeable = 0;
        foreach (var transaction in group)
        {
            foreach (var operation in transaction.Operations)
            {
                if (!keys.Add(operation.Key))
                {
                    return false;
                }

                if (IsMergeable(operation))
                {
                    mergeable++;
                }
            }
        }

        return mergeable >= MinimumMerged;
    }

    /// <summary>
    /// Appends the group's multi-row statements (unconditional writes, then create-only writes; each only when it has
    /// rows) and returns how many; the batch's per-transaction statements follow them.
    /// </summary>
    internal int AddMergedCommands(NpgsqlBatch batch, IReadOnlyList<PendingTransaction> group)
    {
        var plain = new List<StateOperation.Upsert>();
        var createOnly = new List<StateOperation.Upsert>();
        foreach (var operation in group.SelectMany(t => t.Operations))
        {
            if (IsMergeable(operation))
            {
                var upsert = (StateOperation.Upsert)operation;
                (upsert.Options.OnlyIfAbsent ? createOnly : plain).Add(upsert);
            }
        }

        var added = 0;
        foreach (var (writes, sql) in new[] { (plain, UpsertManySql), (createOnly, CreateManySql) })
        {
            if (writes.Count == 0)
            {
                continue;
            }

            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. writes.Select(w => w.Key)] });
            command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = [.. writes.Select(w => StateValues.AsArray(w.Value))] });
            command.Parameters.Add(new NpgsqlParameter<TimeSpan?[]> { TypedValue = [.. writes.Select(w => w.Options.Ttl)], NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Interval });
            batch.BatchCommands.Add(command);
            added++;
        }

        return added;
    }

    /// <summary>Reads the <paramref name="statements"/> multi-row results the reader starts on: each written key's new ETag.</summary>
    internal static async Task<Dictionary<string, long>> ReadMergedAsync(NpgsqlDataReader reader, int statements)
    {
        var etags = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < statements; i++)
        {
            if (i > 0)
            {
                await reader.NextResultAsync().ConfigureAwait(false);
            }

            while (await reader.ReadAsync().ConfigureAwait(false))
            {
                etags.Add(reader.GetString(0), reader.GetInt64(1));
            }
        }

        return etags;
    }
}
