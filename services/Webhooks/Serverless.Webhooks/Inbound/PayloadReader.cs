using System.Globalization;
using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>Tolerant reads from webhook JSON: optional fields may be absent or null; required ones throw <see cref="JsonException"/>.</summary>
internal static class PayloadReader
{
    public static string Required(JsonElement element, string name) =>
        Optional(element, name) ?? throw new JsonException($"required string '{name}' is missing");

    public static string? Optional(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object
        && element.TryGetProperty(name, out var value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    public static JsonElement Child(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? value : default;

    public static IReadOnlyList<string> Strings(JsonElement element, string name)
    {
        var array = Child(element, name);
        return array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];
    }

    public static IReadOnlyDictionary<string, string> Map(JsonElement element, string name)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        var obj = Child(element, name);
        if (obj.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in obj.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    map[property.Name] = property.Value.GetString()!;
                }
            }
        }

        return map;
    }

    public static IEnumerable<JsonElement> Array(JsonElement element, string name)
    {
        var array = Child(element, name);
        return array.ValueKind == JsonValueKind.Array ? array.EnumerateArray() : [];
    }

    /// <summary>
    /// RFC 3339 with up to nanosecond precision (Go, hence Alertmanager, writes 9 fractional digits;
    /// .NET keeps 7, so the rest is truncated before parsing).
    /// </summary>
    public static DateTimeOffset? Timestamp(JsonElement element, string name)
    {
        var text = Optional(element, name);
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var parsed)
            ? parsed
            : throw new JsonException($"'{name}' is not an RFC 3339 timestamp");
    }
}
