using System.Diagnostics.Tracing;

namespace Serverless.Benchmarks;

/// <summary>
/// The runtime's GC pauses (suspension begin → restart end, from its own events) with their wall-clock times, so slow
/// attempts can be matched against them.
/// </summary>
internal sealed class GcPauseTracker : EventListener
{
    private readonly List<(DateTimeOffset Start, DateTimeOffset End)> _pauses = [];
    private DateTimeOffset? _suspended;

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
            else if (data.EventName?.StartsWith("GCRestartEEEnd", StringComparison.Ordinal) == true && _suspended is { } start)
            {
                _pauses.Add((start, at));
                _suspended = null;
            }
        }
    }
}
