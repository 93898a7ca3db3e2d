using Npgsql;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>A transaction as the store runs it: its operations, and its outbox events already serialised.</summary>
/// <remarks>With <paramref name="HandOff"/> its outbox rows are written leased and handed to this process's relay after the commit.</remarks>
internal sealed record PendingTransaction(IReadOnlyList<StateOperation> Operations, IReadOnlyList<(string Topic, byte[] Payload)> Events, bool HandOff);

/// <summary>What a committed transaction gives back: the ETag of each operation, and its outbox rows when handed over.</summary>
internal sealed record TransactionResults(IReadOnlyList<string> ETags, IReadOnlyList<OutboxMessage> OutboxRows);

/// <summary>
/// Group commit for transactions. One that arrives while the lane is idle runs on its own at once (one round trip, as
/// before); those that arrive meanwhile are sent together when the lane is free: one PostgreSQL transaction, one round
/// trip, one WAL flush. A group is first sent plainly, one transaction's statements after another's; when none fails
/// (the usual case) that is all. When a transaction's condition fails (ETag, create-only) the whole group is rolled
/// back and sent again with each transaction inside its own savepoint: the failing one is rolled back to its savepoint
/// and gets its <see cref="ETagMismatchException"/>, the ones after it are sent again in the same PostgreSQL
/// transaction, so no transaction's outcome depends on another's except through the order in which they apply, exactly
/// as if they had run one after another. After such a failure the next <see cref="SavepointGroupsAfterMismatch"/>
/// groups use savepoints from the start (contended keys fail again soon). Any other failure before the commit rolls the
/// whole group back and runs each transaction on its own. Callers complete only after the commit.
/// </summary>
/// <remarks>
/// One lane by default: transactions of one group hold their row locks until the group commits, and two lanes taking
/// the same hot keys in different orders would deadlock (PostgreSQL breaks that only after a second). At most
/// <see cref="MaxGroup"/> per group: each savepoint that writes takes a subtransaction id, and past 64 in one
/// transaction every snapshot in the server gets slower.
/// </remarks>
internal sealed class PostgresTransactionBatcher : PostgresGroupWriter<PendingTransaction, IReadOnlyList<string>>
{
    public const int MaxGroup = 32;

    /// <summary>Groups sent with savepoints from the start after one whose plain attempt hit a failed condition.</summary>
    internal const int SavepointGroupsAfterMismatch = 64;

    private const string Savepoint = "SAVEPOINT t";
    private const string Release = "RELEASE SAVEPOINT t";
    private const string RollBack = "ROLLBACK TO SAVEPOINT t; RELEASE SAVEPOINT t";

    private readonly PostgresStateStore _store;
    private readonly NpgsqlDataSource _dataSource;
    private int _savepointGroupsLeft;

    /// <summary>Groups committed by the plain attempt, and groups sent with savepoints (for tests and diagnostics).</summary>
    internal long PlainGroups;

    internal long SavepointGroups;

    /// <summary>Plain groups whose writes went as multi-row statements (see <see cref="PostgresStateStore.CanMerge"/>).</summary>
    internal long MergedGroups;

    /// <summary>Plain groups whose outbox rows went as one statement (see <see cref="PostgresStateStore.AddMergedOutbox"/>).</summary>
    internal long MergedOutboxGroups;

    public PostgresTransactionBatcher(PostgresStateStore store, NpgsqlDataSource dataSource, int lanes = 1)
        : base(MaxGroup)
    {
        _store = store;
        _dataSource = dataSource;
        StartLanes(lanes);
    }

    public Task<IReadOnlyList<string>> TransactAsync(PendingTransaction transaction, CancellationToken cancellationToken) =>
        EnqueueAsync(transaction, cancellationToken);

    protected override async Task RunGroupAsync(List<Pending> group)
    {
        var outcomes = new Outcome?[group.Count];
        NpgsqlConnection? connection = null;
        var committing = false;
        try
        {
            connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            try
            {
                if (_savepointGroupsLeft > 0)
                {
                    _savepointGroupsLeft--;
                }
                else if (await SendPlainAsync(connection, transaction, group, outcomes).ConfigureAwait(false))
                {
                    Interlocked.Increment(ref PlainGroups);
                }
                else
                {
                    _savepointGroupsLeft = SavepointGroupsAfterMismatch;
                    await transaction.RollbackAsync().ConfigureAwait(false);
                    await transaction.DisposeAsync().ConfigureAwait(false);
                    transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
                    Array.Clear(outcomes);
                }

                if (outcomes[0] is null)
                {
                    Interlocked.Increment(ref SavepointGroups);
                    var next = 0;
                    while (next < group.Count)
                    {
                        next = await SendAsync(connection, transaction, group, next, outcomes).ConfigureAwait(false);
                    }
                }

                committing = true;
                await transaction.CommitAsync().ConfigureAwait(false);
            }
            finally
            {
                await transaction.DisposeAsync().ConfigureAwait(false);
            }
        }
        catch (Exception) when (!committing)
        {
            // Nothing committed: every transaction runs again on its own, in order (the one that failed the group
            // then fails alone with its own error; a deadlock or a dropped connection cost only the time).
            await DisposeAsync(connection).ConfigureAwait(false);
            foreach (var pending in group)
            {
                await RunAloneAsync(pending).ConfigureAwait(false);
            }

            return;
        }
        catch (Exception ex)
        {
            // The commit itself failed: whether it took effect is unknown, as it would be for one transaction alone.
            await DisposeAsync(connection).ConfigureAwait(false);
            foreach (var pending in group)
            {
                pending.Completion.TrySetException(ex);
            }

            return;
        }

        await DisposeAsync(connection).ConfigureAwait(false);
        for (var i = 0; i < group.Count; i++)
        {
            var outcome = outcomes[i]!;
            if (outcome.Mismatch is { } mismatch)
            {
                group[i].Completion.TrySetException(mismatch);
            }
            else
            {
                _store.AfterCommit(group[i].Work, outcome.Results!);
                group[i].Completion.TrySetResult(outcome.Results!.ETags);
            }
        }
    }

    /// <summary>
    /// Sends the whole group without savepoints and reads every result. False when a transaction's condition failed:
    /// the PostgreSQL transaction is then aborted and must be rolled back; nothing of the group stands.
    /// </summary>
    private async Task<bool> SendPlainAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Pending> group, Outcome?[] outcomes)
    {
        var commands = new NpgsqlBatch(connection, transaction);
        await using (commands.ConfigureAwait(false))
        {
            PendingTransaction[] work = [.. group.Select(p => p.Work)];
            var merge = PostgresStateStore.CanMerge(work);
            var mergedStatements = merge ? _store.AddMergedCommands(commands, work) : 0;
            var mergeOutbox = PostgresStateStore.CanMergeOutbox(work);
            if (mergeOutbox)
            {
                _store.AddMergedOutbox(commands, work);
            }

            foreach (var pending in group)
            {
                _store.AddCommands(commands, pending.Work, merge, mergeOutbox);
            }

            try
            {
                await ReadOutcomesAsync(commands, group, 0, outcomes, merge ? mergedStatements : null, mergeOutbox).ConfigureAwait(false);
                if (merge)
                {
                    Interlocked.Increment(ref MergedGroups);
                }

                if (mergeOutbox)
                {
                    Interlocked.Increment(ref MergedOutboxGroups);
                }

                return true;
            }
            catch (PostgresException ex) when (PostgresStateStore.IsETagMismatch(ex))
            {
                return false;
            }
        }
    }

    /// <summary>
    /// Sends the transactions from <paramref name="first"/> on, each in its savepoint, and reads their results. Returns
    /// where to go on: the end, or the one after a transaction whose condition failed (rolled back to its savepoint).
    /// </summary>
    private async Task<int> SendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Pending> group, int first, Outcome?[] outcomes)
    {
        var commands = new NpgsqlBatch(connection, transaction);
        await using (commands.ConfigureAwait(false))
        {
            for (var i = first; i < group.Count; i++)
            {
                commands.BatchCommands.Add(new NpgsqlBatchCommand(Savepoint));
                _store.AddCommands(commands, group[i].Work);
                commands.BatchCommands.Add(new NpgsqlBatchCommand(Release));
            }

            try
            {
                await ReadOutcomesAsync(commands, group, first, outcomes).ConfigureAwait(false);
                return group.Count;
            }
            catch (PostgresException ex) when (PostgresStateStore.IsETagMismatch(ex) && Array.FindIndex(outcomes, first, o => o is null) is >= 0 and var current)
            {
                // Results are read in order and each is moved to just before it is read, so the failed statement is one
                // of the transaction being read (Npgsql does not name it): the first without an outcome. The ones read
                // before it stand.
                outcomes[current] = new Outcome(null, new ETagMismatchException(ex.Detail ?? string.Empty));
            }
        }

        await using (var rollBack = new NpgsqlCommand(RollBack, connection, transaction))
        {
            await rollBack.ExecuteNonQueryAsync().ConfigureAwait(false);
        }

        return Array.FindIndex(outcomes, first, o => o is null) is var next and >= 0 ? next : group.Count;
    }

    /// <summary>
    /// Runs the batch and reads the results of the transactions from <paramref name="first"/> on, in order, into
    /// <paramref name="outcomes"/>; an error raised by a transaction's statement surfaces while its results are being
    /// read, so its outcome and those after it stay unset.
    /// </summary>
    /// <paramref name="mergedStatements"/>: the batch starts with that many multi-row statements (see
    /// <see cref="PostgresStateStore.AddMergedCommands"/>), read first; with <paramref name="mergedOutbox"/> the group's
    /// outbox statement follows them (<see cref="PostgresStateStore.AddMergedOutbox"/>).
    private static async Task ReadOutcomesAsync(NpgsqlBatch commands, List<Pending> group, int first, Outcome?[] outcomes, int? mergedStatements = null, bool mergedOutbox = false)
    {
        await using var reader = await commands.ExecuteReaderAsync().ConfigureAwait(false);
        var positioned = true;
        Dictionary<string, long>? merged = null;
        if (mergedStatements is { } count)
        {
            merged = await PostgresStateStore.ReadMergedAsync(reader, count).ConfigureAwait(false);
            positioned = count == 0;
        }

        Queue<(long Id, DateTimeOffset CreatedAt)>? outboxRows = null;
        if (mergedOutbox)
        {
            if (!positioned)
            {
                await reader.NextResultAsync().ConfigureAwait(false);
            }

            outboxRows = await PostgresStateStore.ReadMergedOutboxAsync(reader, CancellationToken.None).ConfigureAwait(false);
            positioned = false;
        }

        for (var i = first; i < group.Count; i++)
        {
            var transactionOf = group[i].Work;
            outcomes[i] = new Outcome(await PostgresStateStore.ReadResultsAsync(reader, transactionOf, positioned, CancellationToken.None, merged, outboxRows).ConfigureAwait(false), null);
            positioned = positioned && !PostgresStateStore.ReturnsRows(transactionOf, merged is not null, mergedOutbox);
        }
    }

    protected override async Task RunAloneAsync(Pending pending)
    {
        try
        {
            pending.Completion.TrySetResult(await _store.TransactAloneAsync(pending.Work, pending.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            pending.Completion.TrySetException(ex);
        }
    }

    private static async ValueTask DisposeAsync(NpgsqlConnection? connection)
    {
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private sealed record Outcome(TransactionResults? Results, ETagMismatchException? Mismatch);
}
