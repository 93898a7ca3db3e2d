namespace Serverless.Webhooks.Inbound;

/// <summary>HTTP header names are case-insensitive; callers may hand us a dictionary with any comparer.</summary>
internal static class HeaderLookup
{
    public static string? Find(IReadOnlyDictionary<string, string> headers, string name)
    {
        if (headers.TryGetValue(name, out var exact))
        {
            return exact;
        }

        foreach (var (key, value) in headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }
}
