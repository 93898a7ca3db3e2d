namespace Serverless.BuildingBlocks.Timers;

/// <summary>What fires this process's timers; /readyz asks it whether it is working.</summary>
public interface ITimerEngine
{
    /// <summary>Which engine runs the timers ("embedded", "quartz", "disabled").</summary>
    string Engine { get; }

    /// <summary>The timers registered in this process.</summary>
    IReadOnlyList<TimerDescriptor> Timers { get; }

    /// <summary>True when the engine is running and its store answers (always true when timers are disabled).</summary>
    Task<bool> IsReadyAsync(CancellationToken cancellationToken = default);
}
