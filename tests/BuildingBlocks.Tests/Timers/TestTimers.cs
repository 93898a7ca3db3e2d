using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>Records its firing and returns at once.</summary>
public sealed class QuickTimer(FiringLog log, NodeName node) : ITimerFunction
{
    public Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        log.Start(node.Value, timer).EndedAt = DateTimeOffset.UtcNow;
        return Task.CompletedTask;
    }
}

/// <summary>Runs for <see cref="Duration"/>, longer than its every-second schedule.</summary>
public sealed class SlowTimer(FiringLog log, NodeName node) : ITimerFunction
{
    public static readonly TimeSpan Duration = TimeSpan.FromSeconds(2);

    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        var firing = log.Start(node.Value, timer);
        try
        {
            await Task.Delay(Duration, cancellationToken);
        }
        finally
        {
            firing.EndedAt = DateTimeOffset.UtcNow;
        }
    }
}

/// <summary>Always throws.</summary>
public sealed class FailingTimer(FiringLog log, NodeName node) : ITimerFunction
{
    public Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        log.Start(node.Value, timer).EndedAt = DateTimeOffset.UtcNow;
        throw new InvalidOperationException("The timer function failed on purpose.");
    }
}
