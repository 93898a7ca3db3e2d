using System.Globalization;

namespace Serverless.Webhooks.Outbound;

/// <summary>A request to create or update an outbound endpoint, as the API received it.</summary>
public sealed record EndpointRequest(
    string? Url,
    IReadOnlyList<string?>? EventTypes = null,
    string? Description = null,
    int? RateLimitPerSecond = null,
    IReadOnlyDictionary<string, string?>? Headers = null);

/// <summary>One problem with a request, at a field path such as <c>eventTypes[2]</c> or <c>headers.Host</c>.</summary>
public sealed record FieldProblem(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>
/// Validates an <see cref="EndpointRequest"/> without I/O and reports every problem, not just the first, so a caller
/// fixes them in one round. Whether the URL's host resolves to a permitted address is <see cref="WebhookUrl.CheckAsync"/>'s job.
/// </summary>
public static class EndpointRequestValidator
{
    public const int MaxDescriptionLength = 1024;
    public const int MaxEventTypes = 256;
    public const int MaxHeaders = 32;
    public const int MaxHeaderValueLength = 4096;
    public const int MaxRateLimitPerSecond = 10_000;

    // Hop-by-hop headers (RFC 9110 §7.6.1) belong to one connection, and the rest are ours to set: letting an
    // endpoint owner override them would break framing, signatures or the Host the guard checked.
    private static readonly HashSet<string> ForbiddenHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade",
        "Host", "Content-Length", "Content-Type", "Content-Encoding", "Expect",
    };

    /// <param name="request">The endpoint's fields.</param>
    /// <param name="catalogue">
    /// The event types delivered here: when given, a filter that matches none of them is a problem, since such an
    /// endpoint would never receive anything. Left out for endpoints already stored, which keep working whatever changed.
    /// </param>
    public static IReadOnlyList<FieldProblem> Validate(EndpointRequest request, EventTypeCatalogue? catalogue = null)
    {
        ArgumentNullException.ThrowIfNull(request);
        var problems = new List<FieldProblem>();

        if (WebhookUrl.ValidateShape(request.Url) is { } urlProblem)
        {
            problems.Add(new("url", urlProblem));
        }

        ValidateEventTypes(request.EventTypes, catalogue, problems);

        if (request.Description is { Length: > MaxDescriptionLength })
        {
            problems.Add(new("description", $"must be at most {MaxDescriptionLength} characters"));
        }

        if (request.RateLimitPerSecond is { } rate && rate is < 1 or > MaxRateLimitPerSecond)
        {
            problems.Add(new("rateLimitPerSecond", $"must be between 1 and {MaxRateLimitPerSecond} (omit it for no limit)"));
        }

        ValidateHeaders(request.Headers, problems);
        return problems;
    }

    private static void ValidateEventTypes(IReadOnlyList<string?>? eventTypes, EventTypeCatalogue? catalogue, List<FieldProblem> problems)
    {
        if (eventTypes is null)
        {
            return;
        }

        if (eventTypes.Count > MaxEventTypes)
        {
            problems.Add(new("eventTypes", $"must list at most {MaxEventTypes} patterns"));
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < eventTypes.Count; i++)
        {
            var path = $"eventTypes[{i.ToString(CultureInfo.InvariantCulture)}]";
            var pattern = eventTypes[i];
            if (EventTypeFilter.Validate(pattern) is { } error)
            {
                problems.Add(new(path, error));
            }
            else if (!seen.Add(pattern!))
            {
                problems.Add(new(path, $"duplicates '{pattern}'"));
            }
            else if (catalogue?.Problem(pattern!) is { } unmatched)
            {
                problems.Add(new(path, unmatched));
            }
        }
    }

    private static void ValidateHeaders(IReadOnlyDictionary<string, string?>? headers, List<FieldProblem> problems)
    {
        if (headers is null)
        {
            return;
        }

        if (headers.Count > MaxHeaders)
        {
            problems.Add(new("headers", $"must have at most {MaxHeaders} entries"));
        }

        var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in headers.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            var path = $"headers.{name}";
            if (name.Length == 0 || !name.All(IsTokenChar))
            {
                problems.Add(new(path, "is not a valid header name"));
                continue;
            }

            if (ForbiddenHeaders.Contains(name) || name.StartsWith("webhook-", StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new(path, "not allowed"));
                continue;
            }

            // Header names are case-insensitive: "X-A" and "x-a" would be sent as one header.
            if (!seen.Add(name))
            {
                problems.Add(new(path, "duplicates another header of the same name"));
                continue;
            }

            if (value is null)
            {
                problems.Add(new(path, "must have a value"));
            }
            else if (value.Length > MaxHeaderValueLength)
            {
                problems.Add(new(path, $"value must be at most {MaxHeaderValueLength} characters"));
            }
            else if (!value.All(c => c is '\t' or (>= ' ' and <= '~')))
            {
                // CR/LF would split the header (request smuggling); anything outside ASCII the HTTP client refuses to
                // send, so every attempt would fail: accept only what can go on the wire.
                problems.Add(new(path, "value must contain only visible ASCII characters, spaces and tabs"));
            }
        }
    }

    // RFC 9110 §5.6.2 tchar.
    private static bool IsTokenChar(char c) => char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal);
}
