namespace Serverless.BuildingBlocks.Timers;

/// <summary>Stands in when <c>Serverless:Timers:Enabled</c> is false: timers are known but nothing fires them here.</summary>
internal sealed class DisabledTimerEngine(TimerRegistry registry) : ITimerEngine
{
    public string Engine => "disabled";

    public IReadOnlyList<TimerDescriptor> Timers => registry.Descriptors;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken = default) => Task.FromResult(true);
}
