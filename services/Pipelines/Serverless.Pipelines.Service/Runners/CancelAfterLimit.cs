namespace Serverless.Pipelines.Service.Runners;

/// <summary>The timeouts the runners enforce themselves, within what a <see cref="CancellationTokenSource"/> can time.</summary>
public static class CancelAfterLimit
{
    /// <summary>The longest timeout a <see cref="CancellationTokenSource"/> takes (uint.MaxValue - 1 ms, about 49.7 days).</summary>
    public static readonly TimeSpan Maximum = TimeSpan.FromMilliseconds(uint.MaxValue - 1.0);

    /// <summary>
    /// A source cancelled after <paramref name="timeout"/>; one that never cancels on its own when there is none or it is
    /// longer than <see cref="Maximum"/> (only a definition stored before durations were capped at 30 days has one:
    /// the orchestrator's timer ends such a step).
    /// </summary>
    public static CancellationTokenSource After(TimeSpan? timeout) =>
        timeout is { } limit && limit >= TimeSpan.Zero && limit <= Maximum ? new CancellationTokenSource(limit) : new CancellationTokenSource();
}
