using System.Threading.Channels;
using Npgsql;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>
/// Group commit for single-key saves: writes that arrive while others are in flight are sent together in one
/// round trip and one transaction (one WAL flush), each keeping its own ETag check and result. A batch that
/// fails as a whole (a deadlock with another writer, say) is retried one write at a time, so no write's
/// outcome depends on another's. Callers complete only after the commit.
/// </summary>
internal sealed class PostgresSaveBatcher : IAsyncDisposable
{
    private const int MaxBatch = 64;
    private const int Lanes = 4;

    private readonly PostgresStateStore _store;
    private readonly NpgsqlDataSource _dataSource;
    private readonly Channel<PendingSave> _pending = Channel.CreateUnbounded<PendingSave>();
    private readonly Task[] _lanes;

    public PostgresSaveBatcher(PostgresStateStore store, NpgsqlDataSource dataSource)
    {
        _store = store;
        _dataSource = dataSource;
        _lanes = Enumerable.Range(0, Lanes).Select(_ => Task.Run(RunLaneAsync)).ToArray();
    }

    public Task<string> SaveAsync(StateOperation.Upsert upsert, CancellationToken cancellationToken)
    {
        var pending = new PendingSave(upsert, cancellationToken);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);
        return pending.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await Task.WhenAll(_lanes).ConfigureAwait(false);
    }

    private async Task RunLaneAsync()
    {
        var batch = new List<PendingSave>(MaxBatch);
        while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && _pending.Reader.TryRead(out var pending))
            {
                if (pending.CancellationToken.IsCancellationRequested)
                {
                    pending.Completion.TrySetCanceled(pending.CancellationToken);
                }
                else
                {
                    batch.Add(pending);
                }
            }

            if (batch.Count == 1)
            {
                await SaveAloneAsync(batch[0]).ConfigureAwait(false);
            }
            else if (batch.Count > 1)
            {
                await SaveBatchAsync(batch).ConfigureAwait(false);
            }
        }
    }

    private async Task SaveBatchAsync(List<PendingSave> batch)
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
                    var command = new NpgsqlBatchCommand(_store.UpsertSql(pending.Upsert));
                    PostgresStateStore.AddUpsertParameters(command.Parameters, pending.Upsert);
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
                batch[i].Completion.TrySetException(new ETagMismatchException(batch[i].Upsert.Key));
            }
        }
    }

    private async Task SaveAloneAsync(PendingSave pending)
    {
        try
        {
            pending.Completion.TrySetResult(await _store.SaveAloneAsync(pending.Upsert, pending.CancellationToken).ConfigureAwait(false));
        }
        catch (Exception ex)
        {
            pending.Completion.TrySetException(ex);
        }
    }

    private sealed record PendingSave(StateOperation.Upsert Upsert, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<string> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
