namespace Serverless.BuildingBlocks.State;

/// <param name="ContinuationToken">Pass back to get the next page; null when this is the last page.</param>
public sealed record KeyPage(IReadOnlyList<string> Keys, string? ContinuationToken)
{
    /// <summary>Stores read one key more than a page; its presence means another page follows.</summary>
    internal static KeyPage FromOverfetch(List<string> keys, int pageSize)
    {
        if (keys.Count <= pageSize)
        {
            return new KeyPage(keys, null);
        }

        keys.RemoveAt(pageSize);
        return new KeyPage(keys, StateETags.ToContinuationToken(keys[^1]));
    }
}
