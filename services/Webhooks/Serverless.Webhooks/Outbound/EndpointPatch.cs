using System.Text.Json.Serialization;

namespace Serverless.Webhooks.Outbound;

/// <summary>
/// A change to an endpoint as a JSON merge patch (RFC 7396): a member left out leaves the field unchanged, a member
/// given as <c>null</c> removes it (<c>description</c>, <c>rateLimitPerSecond</c> — no limit —, a header, or all
/// <c>headers</c>), any other value replaces it; <c>headers</c> is merged name by name (case-insensitively), while
/// <c>eventTypes</c>, an array, is replaced as a whole. <c>url</c> and <c>eventTypes</c> cannot be removed (<c>[]</c>
/// subscribes to every event type). Deserialized from the request body, each property's setter runs only when its
/// member is present, which is how an absent member is told from an explicit null.
/// </summary>
public sealed class EndpointPatch
{
    private readonly string? _url;
    private readonly IReadOnlyList<string?>? _eventTypes;
    private readonly string? _description;
    private readonly int? _rateLimitPerSecond;
    private readonly IReadOnlyDictionary<string, string?>? _headers;

    public string? Url { get => _url; init { _url = value; HasUrl = true; } }

    public IReadOnlyList<string?>? EventTypes { get => _eventTypes; init { _eventTypes = value; HasEventTypes = true; } }

    public string? Description { get => _description; init { _description = value; HasDescription = true; } }

    public int? RateLimitPerSecond { get => _rateLimitPerSecond; init { _rateLimitPerSecond = value; HasRateLimitPerSecond = true; } }

    public IReadOnlyDictionary<string, string?>? Headers { get => _headers; init { _headers = value; HasHeaders = true; } }

    [JsonIgnore]
    public bool HasUrl { get; private init; }

    [JsonIgnore]
    public bool HasEventTypes { get; private init; }

    [JsonIgnore]
    public bool HasDescription { get; private init; }

    [JsonIgnore]
    public bool HasRateLimitPerSecond { get; private init; }

    [JsonIgnore]
    public bool HasHeaders { get; private init; }

    /// <summary>Problems with the patch itself (a member that cannot be removed given as null); the merged result is validated separately.</summary>
    public IReadOnlyList<FieldProblem> Validate()
    {
        var problems = new List<FieldProblem>();
        if (HasUrl && Url is null)
        {
            problems.Add(new("url", "cannot be removed"));
        }
        else if (HasUrl && Url!.Contains(CredentialRedaction.Redacted, StringComparison.Ordinal))
        {
            problems.Add(new("url", "holds a credential as shown ([redacted]); send the whole URL, or leave url out to keep it"));
        }

        if (HasEventTypes && EventTypes is null)
        {
            problems.Add(new("eventTypes", "cannot be removed; [] subscribes to every event type"));
        }

        // Header names are case-insensitive: "X-A" and "x-a" in one patch would be one header changed twice.
        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var name in (Headers?.Keys ?? []).Order(StringComparer.Ordinal))
        {
            if (!seen.Add(name))
            {
                problems.Add(new($"headers.{name}", "duplicates another header of the same name"));
            }
        }

        return problems;
    }

    /// <summary>The endpoint's fields with this patch applied (RFC 7396), to be validated as a whole.</summary>
    public EndpointRequest ApplyTo(EndpointRequest current)
    {
        ArgumentNullException.ThrowIfNull(current);
        return new EndpointRequest(
            HasUrl ? Url : current.Url,
            HasEventTypes ? EventTypes : current.EventTypes,
            HasDescription ? Description : current.Description,
            HasRateLimitPerSecond ? RateLimitPerSecond : current.RateLimitPerSecond,
            HasHeaders ? MergeHeaders(current.Headers, Headers) : current.Headers);
    }

    private static Dictionary<string, string?> MergeHeaders(IReadOnlyDictionary<string, string?>? current, IReadOnlyDictionary<string, string?>? patch)
    {
        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (patch is null)
        {
            return merged; // "headers": null removes them all
        }

        foreach (var (name, value) in current ?? new Dictionary<string, string?>())
        {
            merged[name] = value;
        }

        foreach (var (name, value) in patch)
        {
            if (value is null)
            {
                merged.Remove(name);
            }
            else if (value == CredentialRedaction.Redacted && current?.Keys.Any(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase)) == true)
            {
                // Sent back as it was shown (GET, change, PATCH): the stored credential stays.
            }
            else
            {
                merged.Remove(name); // a new spelling of the name replaces the old one
                merged[name] = value;
            }
        }

        return merged;
    }
}
