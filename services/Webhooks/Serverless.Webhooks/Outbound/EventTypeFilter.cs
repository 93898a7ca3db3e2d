namespace Serverless.Webhooks.Outbound;

/// <summary>
/// Which event types an endpoint receives. A pattern is an exact name (<c>invoice.paid</c>), a prefix pattern
/// (<c>invoice.*</c>: every type below <c>invoice.</c> at any depth, but not <c>invoice</c> itself), or <c>*</c> (everything).
/// No patterns at all also means everything, as in Svix and Standard Webhooks registrations where the filter is optional.
/// Matching is ordinal (case-sensitive): event types are identifiers, not prose.
/// </summary>
public sealed class EventTypeFilter
{
    public const int MaxPatternLength = 256;

    private readonly HashSet<string> _exact = new(StringComparer.Ordinal);
    private readonly List<string> _prefixes = [];
    private readonly bool _everything;

    private EventTypeFilter(IEnumerable<string> patterns)
    {
        foreach (var pattern in patterns)
        {
            if (pattern == "*")
            {
                _everything = true;
            }
            else if (pattern.EndsWith(".*", StringComparison.Ordinal))
            {
                _prefixes.Add(pattern[..^1]);
            }
            else
            {
                _exact.Add(pattern);
            }
        }
    }

    public static EventTypeFilter Everything { get; } = new(["*"]);

    /// <summary>Builds a filter; throws <see cref="ArgumentException"/> listing every invalid pattern.</summary>
    public static EventTypeFilter Create(IReadOnlyList<string>? patterns)
    {
        if (patterns is null || patterns.Count == 0)
        {
            return Everything;
        }

        var problems = patterns
            .Select((p, i) => (Index: i, Error: Validate(p)))
            .Where(x => x.Error is not null)
            .Select(x => $"[{x.Index}]: {x.Error}")
            .ToList();
        return problems.Count == 0
            ? new EventTypeFilter(patterns)
            : throw new ArgumentException("Invalid event type patterns: " + string.Join("; ", problems), nameof(patterns));
    }

    public bool Matches(string eventType)
    {
        ArgumentNullException.ThrowIfNull(eventType);
        return _everything || _exact.Contains(eventType) || _prefixes.Exists(p => eventType.StartsWith(p, StringComparison.Ordinal));
    }

    /// <summary>
    /// Whether two valid patterns have a type in common: a filter pattern and a type a topic declares (an exact name,
    /// a <c>prefix.*</c> family or <c>*</c>). An exact name overlaps itself and every family it lies below; two
    /// families overlap when one lies within the other (<c>pipeline.*</c> and <c>pipeline.custom.*</c>).
    /// </summary>
    public static bool Overlaps(string pattern, string declared)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(declared);
        if (pattern == "*" || declared == "*")
        {
            return true;
        }

        var patternFamily = pattern.EndsWith(".*", StringComparison.Ordinal) ? pattern[..^1] : null;
        var declaredFamily = declared.EndsWith(".*", StringComparison.Ordinal) ? declared[..^1] : null;
        return (patternFamily, declaredFamily) switch
        {
            (null, null) => string.Equals(pattern, declared, StringComparison.Ordinal),
            (null, { } family) => pattern.StartsWith(family, StringComparison.Ordinal),
            ({ } family, null) => declared.StartsWith(family, StringComparison.Ordinal),
            ({ } a, { } b) => a.StartsWith(b, StringComparison.Ordinal) || b.StartsWith(a, StringComparison.Ordinal),
        };
    }

    /// <summary>Null when <paramref name="pattern"/> is valid, otherwise what is wrong with it.</summary>
    public static string? Validate(string? pattern)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            return "must not be empty";
        }

        if (pattern.Length > MaxPatternLength)
        {
            return $"must be at most {MaxPatternLength} characters";
        }

        if (pattern == "*")
        {
            return null;
        }

        var name = pattern.EndsWith(".*", StringComparison.Ordinal) ? pattern[..^2] : pattern;
        if (name.Contains('*', StringComparison.Ordinal))
        {
            return "'*' is only allowed alone or as the last segment after a '.' (for example 'invoice.*')";
        }

        return IsEventTypeName(name)
            ? null
            : "must be dot-separated segments of letters, digits, '_' or '-' (for example 'invoice.paid')";
    }

    /// <summary>Whether <paramref name="name"/> is a valid event type: non-empty dot-separated segments of [A-Za-z0-9_-].</summary>
    public static bool IsEventTypeName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name.Length is 0 or > MaxPatternLength)
        {
            return false;
        }

        foreach (var segment in name.Split('.'))
        {
            if (segment.Length == 0 || !segment.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}
