using System.Threading.Channels;
using Serverless.BuildingBlocks.PubSub;

namespace Serverless.BuildingBlocks.State;

/// <summary>
/// Wakes a background loop at once when this process made work for it, so the loop can poll slowly for work
/// made elsewhere. Notifications while the loop is busy collapse into one.
/// </summary>
public class WakeSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    /// <summary>Waits until notified or until <paramref name="timeout"/> passes.</summary>
    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _signal.Dispose();
        }
    }
}

/// <summary>
/// Wakes the outbox relay right after a transaction with events commits, and — while a relay takes them — hands it the
/// committed rows themselves: a store that sees <see cref="TakesHandoffs"/> writes its outbox rows already leased for
/// <see cref="HandoffLease"/> and hands them over after the commit, so the relay publishes them without reading the
/// outbox back, and no other relay takes them unless that lease runs out (this process died, or the publish failed).
/// With the process's <see cref="TopicRegistry"/> it also keeps rows no relay could publish out of the outbox: a
/// transaction publishing to a topic no module declared fails before it commits (<see cref="UnknownTopicException"/>)
/// instead of leaving a row that is leased and refused again every 30 seconds for ever.
/// </summary>
public sealed class OutboxSignal(TopicRegistry? topics = null) : WakeSignal
{
    /// <summary>How long a handed-over row stays leased to the relay of the process that committed it.</summary>
    public static readonly TimeSpan HandoffLease = TimeSpan.FromSeconds(30);

    /// <summary>Rows waiting for the relay at most; beyond that a row waits for its lease to run out (nothing is lost).</summary>
    public const int MaxWaiting = 100_000;

    private volatile Channel<OutboxMessage>? _handoffs;

    /// <summary>The topics this process may publish to; null (tests of a store alone) checks only the name.</summary>
    internal TopicRegistry? Topics { get; } = topics;

    public bool TakesHandoffs => _handoffs is not null;

    /// <summary>Gives the relay a committed row; false when nobody takes them or too many wait (the row stays for the poll).</summary>
    public bool Hand(OutboxMessage message) => _handoffs?.Writer.TryWrite(message) ?? false;

    /// <summary>Called by the relay that will publish handed-over rows until <see cref="StopHandoffs"/>.</summary>
    public ChannelReader<OutboxMessage> AcceptHandoffs()
    {
        var channel = Channel.CreateBounded<OutboxMessage>(new BoundedChannelOptions(MaxWaiting) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });
        _handoffs = channel;
        return channel.Reader;
    }

    public void StopHandoffs()
    {
        var channel = _handoffs;
        _handoffs = null;
        channel?.Writer.TryComplete();
    }
}
