using System.Diagnostics.Tracing;
using System.Globalization;

namespace Serverless.Benchmarks;

/// <summary>
/// The runtime's GC pauses (suspension begin → restart end, from its own events) with their wall-clock times, so slow
/// attempts can be matched against them.
/// </summary>
internal sealed class GcPauseTracker : EventListener
{
    private readonly List<(DateTimeOffset Start, DateTimeOffset End)> _pauses = [];
    private readonly List<string> _heapStats = [];
    private DateTimeOffset? _suspended;

    /// <summary>After each GC: bytes promoted out of gen0 and gen1, pinned objects and GC handles (GCHeapStats).</summary>
    public IReadOnlyList<string> HeapStats
    {
        get
        {
            lock (_pauses)
            {
                return _heapStats.ToList();
            }
        }
    }

    public IReadOnlyList<(DateTimeOffset Start, DateTimeOffset End)> Pauses
    {
        get
        {
            lock (_pauses)
            {
                return _pauses.ToList();
            }
        }
    }

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1);
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs data)
    {
        var at = new DateTimeOffset(data.TimeStamp.ToUniversalTime(), TimeSpan.Zero);
        lock (_pauses)
        {
            if (data.EventName?.StartsWith("GCSuspendEEBegin", StringComparison.Ordinal) == true)
            {
                _suspended = at;
            }
            else if (data.EventName?.StartsWith("GCHeapStats", StringComparison.Ordinal) == true && data.Payload is { } p && data.PayloadNames is { } names)
            {
                ulong Kb(string name) => names.IndexOf(name) is var i and >= 0 ? Convert.ToUInt64(p[i], CultureInfo.InvariantCulture) / 1024 : 0;
                object? Count(string name) => names.IndexOf(name) is var i and >= 0 ? p[i] : null;
                _heapStats.Add(FormattableString.Invariant(
                    $"at {at:HH:mm:ss.fff}: promoted out of gen0 {Kb("TotalPromotedSize0")} KB, out of gen1 {Kb("TotalPromotedSize1")} KB; gen1 now {Kb("GenerationSize1")} KB, gen2 {Kb("GenerationSize2") / 1024} MB; pinned objects {Count("PinnedObjectCount")}, GC handles {Count("GCHandleCount")}"));
            }
            else if (data.EventName?.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) == true && _suspended is { } start)
            {
                _pauses.Add((start, at));
                _suspended = null;
            }
        }
    }
}
