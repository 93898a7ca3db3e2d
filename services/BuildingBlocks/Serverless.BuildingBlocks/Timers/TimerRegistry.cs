using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>Every timer registered with <see cref="TimerServiceCollectionExtensions.AddTimer{TFunction}"/> in this process.</summary>
internal sealed class TimerRegistry
{
    private readonly Dictionary<string, RegisteredTimer> _byName = new(StringComparer.Ordinal);

    public TimerRegistry(IEnumerable<TimerDescriptor> descriptors)
    {
        ArgumentNullException.ThrowIfNull(descriptors);
        var timers = new List<RegisteredTimer>();
        foreach (var descriptor in descriptors)
        {
            var timer = new RegisteredTimer(descriptor, CronSchedule.Parse(TimerName.Validate(descriptor.Name), descriptor.Schedule, descriptor.TimeZone));
            if (!_byName.TryAdd(descriptor.Name, timer))
            {
                throw new ServerlessConfigurationException($"Timers:{descriptor.Name}", $"a timer named '{descriptor.Name}' is registered twice.");
            }

            timers.Add(timer);
        }

        Timers = timers;
        Descriptors = timers.ConvertAll(t => t.Descriptor);
    }

    public IReadOnlyList<RegisteredTimer> Timers { get; }

    public IReadOnlyList<TimerDescriptor> Descriptors { get; }

    public bool TryGet(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RegisteredTimer? timer) => _byName.TryGetValue(name, out timer);
}
