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

/// <summary>Wakes the outbox relay right after a transaction with events commits.</summary>
public sealed class OutboxSignal : WakeSignal;
