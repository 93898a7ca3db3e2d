namespace Serverless.BuildingBlocks.Timers;

/// <summary>A registered timer with its schedule parsed once.</summary>
internal sealed record RegisteredTimer(TimerDescriptor Descriptor, CronSchedule Schedule)
{
    public string Name => Descriptor.Name;
}
