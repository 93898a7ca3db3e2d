using System.Diagnostics.Tracing;
using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>Samples allocations by type (the runtime's AllocationTick event, about one per 100 KB allocated).</summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly Dictionary<string, long> _bytesByType = new(StringComparer.Ordinal);
    private bool _enabled;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
            _enabled = true;
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs data)
    {
        if (!_enabled || data.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || data.Payload is null)
        {
            return;
        }

        var type = data.PayloadNames!.IndexOf("TypeName") is var t and >= 0 ? data.Payload[t] as string ?? "?" : "?";
        var amount = data.PayloadNames!.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(data.Payload[a], CultureInfo.InvariantCulture) : 100_000L;
        lock (_bytesByType)
        {
            _bytesByType[type] = _bytesByType.GetValueOrDefault(type) + amount;
        }
    }

    public void Print(long count, string unit)
    {
        lock (_bytesByType)
        {
            foreach (var (type, bytes) in _bytesByType.OrderByDescending(pair => pair.Value).Take(25))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {bytes / (double)count,8:F0} B/{unit}  {type}"));
            }
        }
    }
}
