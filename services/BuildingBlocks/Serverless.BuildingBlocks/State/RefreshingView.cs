namespace Serverless.BuildingBlocks.State;

/// <summary>
/// A per-instance view of something read from the state store, kept for a short interval so a hot path (an
/// inbound request, a fan-out per event) does not read it every time. A change made through this instance calls
/// <see cref="Invalidate"/> and is seen at once; a change made on another instance is seen within the interval.
/// </summary>
public sealed class RefreshingView<T>(TimeProvider time, TimeSpan interval)
{
    private Snapshot? _current;
    private long _changes;

    private sealed record Snapshot(T Value, DateTimeOffset ReadAt, long Changes);

    /// <summary>The current view, or a fresh one from <paramref name="read"/> when it is stale or was invalidated.</summary>
    public async Task<T> GetAsync(Func<CancellationToken, Task<T>> read, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(read);
        var current = Volatile.Read(ref _current);
        var now = time.GetUtcNow();
        var changes = Interlocked.Read(ref _changes);
        if (current is not null && current.Changes == changes && now - current.ReadAt < interval)
        {
            return current.Value;
        }

        var value = await read(cancellationToken).ConfigureAwait(false);

        // A change made through this instance while the value was read bumps the counter, so this one is not reused.
        Volatile.Write(ref _current, new Snapshot(value, now, changes));
        return value;
    }

    /// <summary>Drops the view: the next read goes to the store.</summary>
    public void Invalidate() => Interlocked.Increment(ref _changes);
}
