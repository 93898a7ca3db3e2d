using System.Threading.Channels;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>
/// The lane loop both group commits share: writes wait in a queue; a lane takes what waits (up to the group size),
/// runs one on its own or several as a group, and takes the next. Writes cancelled while they waited never run.
/// </summary>
internal abstract class PostgresGroupWriter<TWork, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>();
    private readonly int _maxGroup;
    private Task[] _lanes = [];

    protected PostgresGroupWriter(int maxGroup) => _maxGroup = maxGroup;

    /// <summary>Starts the lanes; called once by the derived constructor, after its own fields are set.</summary>
    protected void StartLanes(int lanes) => _lanes = Enumerable.Range(0, lanes).Select(_ => Task.Run(RunLaneAsync)).ToArray();

    protected Task<TResult> EnqueueAsync(TWork work, CancellationToken cancellationToken)
    {
        var pending = new Pending(work, cancellationToken);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);
        return pending.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await Task.WhenAll(_lanes).ConfigureAwait(false);
    }

    /// <summary>Runs one write alone and settles its completion.</summary>
    protected abstract Task RunAloneAsync(Pending pending);

    /// <summary>Runs two or more writes as one group and settles every completion.</summary>
    protected abstract Task RunGroupAsync(List<Pending> group);

    private async Task RunLaneAsync()
    {
        var group = new List<Pending>(_maxGroup);
        while (await _pending.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            group.Clear();
            _pending.Reader.TakeBatch(group, _maxGroup, static pending => pending.CancellationToken.IsCancellationRequested && SettleCancelled(pending));

            if (group.Count == 1)
            {
                await RunAloneAsync(group[0]).ConfigureAwait(false);
            }
            else if (group.Count > 1)
            {
                await RunGroupAsync(group).ConfigureAwait(false);
            }
        }
    }

    private static bool SettleCancelled(Pending pending)
    {
        pending.Completion.TrySetCanceled(pending.CancellationToken);
        return true;
    }

    protected sealed record Pending(TWork Work, CancellationToken CancellationToken)
    {
        public TaskCompletionSource<TResult> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
