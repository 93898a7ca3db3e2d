namespace Serverless.Webhooks.Outbound;

/// <summary>
/// An event type outbound endpoints can receive: an exact type (<c>pipeline.run.failed</c>), a <c>prefix.*</c> family
/// or <c>*</c> (a topic whose events may have any type), with the delivered topic that carries it.
/// </summary>
public sealed record DeliverableEventType(string Type, string Topic, string? Description);

/// <summary>
/// The event types outbound delivery can send: the types the delivered topics declare. An endpoint filter that
/// matches none of them would never receive anything, so registration refuses it (<see cref="Problem"/>).
/// </summary>
public sealed class EventTypeCatalogue
{
    private const int MaxSuggestions = 3;

    public EventTypeCatalogue(IEnumerable<DeliverableEventType> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        Entries = entries
            .DistinctBy(e => (e.Type, e.Topic))
            .OrderBy(e => e.Type, StringComparer.Ordinal)
            .ThenBy(e => e.Topic, StringComparer.Ordinal)
            .ToList();
    }

    public IReadOnlyList<DeliverableEventType> Entries { get; }

    /// <summary>Whether a valid filter pattern matches at least one type an event delivered here can have.</summary>
    public bool CanMatch(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        return Entries.Any(e => EventTypeFilter.Overlaps(pattern, e.Type));
    }

    /// <summary>Null when a valid filter pattern can match a delivered type; otherwise why not, with the closest known types.</summary>
    public string? Problem(string pattern)
    {
        if (CanMatch(pattern))
        {
            return null;
        }

        // Subscribing to a topic's name is the likely mistake when a topic's events have other types (pipeline.run.finished).
        var typesOfTopic = Entries.Where(e => e.Topic == pattern).Select(e => e.Type).ToList();
        if (typesOfTopic.Count > 0)
        {
            return $"'{pattern}' is a delivered topic, not an event type: its events have the types {string.Join(", ", typesOfTopic)}";
        }

        var closest = Closest(pattern);
        return $"'{pattern}' matches no event type delivered here, so the endpoint would never receive anything"
            + (closest.Count > 0 ? $"; closest known: {string.Join(", ", closest)}" : string.Empty)
            + " (GET /api/webhooks/event-types lists them all)";
    }

    /// <summary>
    /// The known types most like <paramref name="pattern"/>: those within a small edit distance (a typo), or else
    /// those sharing its longest leading segments (<c>webhook.received</c> → <c>webhook.endpoint.disabled</c>).
    /// </summary>
    public IReadOnlyList<string> Closest(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var types = Entries.Select(e => e.Type).Where(t => t != "*").Distinct(StringComparer.Ordinal).ToList();
        var limit = Math.Max(2, pattern.Length / 4);
        var typos = types
            .Select(t => (Type: t, Distance: EditDistance(pattern, t, limit)))
            .Where(t => t.Distance <= limit)
            .OrderBy(t => t.Distance)
            .ThenBy(t => t.Type, StringComparer.Ordinal)
            .Select(t => t.Type)
            .Take(MaxSuggestions)
            .ToList();
        if (typos.Count > 0)
        {
            return typos;
        }

        var segments = pattern.Split('.');
        var shared = types
            .Select(t => (Type: t, Shared: SharedSegments(segments, t.Split('.'))))
            .Where(t => t.Shared > 0)
            .ToList();
        var most = shared.Count == 0 ? 0 : shared.Max(t => t.Shared);
        return shared.Where(t => t.Shared == most).Select(t => t.Type).Order(StringComparer.Ordinal).Take(MaxSuggestions).ToList();
    }

    private static int SharedSegments(string[] a, string[] b)
    {
        var n = 0;
        while (n < a.Length && n < b.Length && a[n] != "*" && string.Equals(a[n], b[n], StringComparison.Ordinal))
        {
            n++;
        }

        return n;
    }

    /// <summary>Levenshtein distance, or <paramref name="limit"/> + 1 as soon as it is known to exceed the limit.</summary>
    private static int EditDistance(string a, string b, int limit)
    {
        // Lengths further apart than the limit need more edits than it allows; this also keeps long inputs cheap.
        if (Math.Abs(a.Length - b.Length) > limit)
        {
            return limit + 1;
        }

        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            var rowMinimum = current[0];
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
                rowMinimum = Math.Min(rowMinimum, current[j]);
            }

            if (rowMinimum > limit)
            {
                return limit + 1;
            }

            (previous, current) = (current, previous);
        }

        return Math.Min(previous[b.Length], limit + 1);
    }
}
