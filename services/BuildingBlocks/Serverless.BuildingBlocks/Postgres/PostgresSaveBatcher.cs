using Npgsql;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>
/// Group commit for single-key saves: writes that arrive while others are in flight are sent together in one
/// round trip and one transaction (one WAL flush), each keeping its own ETag check and result. A batch that
/// fails as a whole (a deadlock with another writer, say) is retried one write at a time, so no write's
/// outcome depends on another's. Callers complete only after the commit.
/// </summary>
internal sealed class PostgresSaveBatcher : PostgresGroupWriter<StateOperation.Upsert, string>
{
    private const int MaxBatch = 64;
    private const int Lanes = 4;

    private readonly PostgresStateStore _store;
    private readonly NpgsqlDataSource _dataSource;

    public PostgresSaveBatcher(PostgresStateStore store, NpgsqlDataSource dataSource)
        : base(MaxBatch)
    {
        _store = store;
        _dataSource = dataSource;
        StartLanes(Lanes);
    }

    public Task<string> SaveAsync(StateOperation.Upsert upsert, CancellationToken cancellationToken) => EnqueueAsync(upsert, cancellationToken);

    protected override Task RunGroupAsync(List<Pending> group) => SaveBatchAsync(group);

    protected override Task RunAloneAsync(Pending pending) => SaveAloneAsync(pending);

    private async Task SaveBatchAsync(List<Pending> batch)
    {
        var results = new long?[batch.Count];
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync().ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync().ConfigureAwait(false);
            await using (var commands = new NpgsqlBatch(connection, transaction))
            {
                foreach (var pending in batch)
                {
                    var command = new NpgsqlBatchCommand(_store.UpsertSql(pending.Work));
                    PostgresStateStore.AddUpsertParameters(command.Parameters, pending.Work);
                    commands.BatchCommands.Add(command);
                }

                await using var reader = await commands.ExecuteReaderAsync().ConfigureAwait(false);
                for (var i = 0; i < batch.Count; i++)
                {
                    if (i > 0)
                    {
                        await reader.NextResultAsync().ConfigureAwait(false);
                    }

                    results[i] = await reader.ReadAsync().ConfigureAwait(false) ? reader.GetInt64(0) : null;
                }
            }

            await transaction.CommitAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            foreach (var pending in batch)
            {
                await SaveAloneAsync(pending).ConfigureAwait(false);
            }

            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (results[i] is { } version)
            {
                batch[i].Completion.TrySetResult(StateETags.Format(version));
            }
            else
            {
                batch[i].Completion.TrySetException(new ETagMismatchException(batch[i].Work.Key));
            }
        }
    }

    private async Task SaveAloneAsync(Pending pending)
    {
        try
        {
            pending.Completion.TrySetResult(await _store.SaveAloneAsync(pending.Work, pending.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            pending.Completion.TrySetException(ex);
        }
    }
}
