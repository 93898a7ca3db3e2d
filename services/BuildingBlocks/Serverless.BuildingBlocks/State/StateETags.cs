using System.Globalization;

namespace Serverless.BuildingBlocks.State;

/// <summary>ETags are version numbers drawn from one store-wide sequence, so a re-created key never reuses an old ETag.</summary>
internal static class StateETags
{
    public static string Format(long version) => version.ToString(CultureInfo.InvariantCulture);

    /// <summary>An ETag that is not one of ours can never match.</summary>
    public static bool TryParse(string? etag, out long version) =>
        long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out version);

    /// <summary>Encodes the last key of a page as the opaque continuation token.</summary>
    public static string ToContinuationToken(string lastKey) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(lastKey));

    public static string? FromContinuationToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return null;
        }

        try
        {
            return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token));
        }
        catch (FormatException ex)
        {
            throw new InvalidContinuationTokenException(ex);
        }
    }

    /// <summary>The smallest string greater than every string that starts with <paramref name="prefix"/>, if one is easy to make.</summary>
    public static string? UpperBound(string prefix)
    {
        if (prefix.Length == 0)
        {
            return null;
        }

        var last = prefix[^1];
        if (last >= '\uD7FF')
        {
            return null;
        }

        return string.Concat(prefix.AsSpan(0, prefix.Length - 1), ((char)(last + 1)).ToString());
    }
}
