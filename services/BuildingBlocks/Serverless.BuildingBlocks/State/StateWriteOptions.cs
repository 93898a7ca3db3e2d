namespace Serverless.BuildingBlocks.State;

/// <param name="ETag">When set, the write succeeds only if the stored ETag still matches (first-write-wins).</param>
/// <param name="Ttl">When set, the key disappears after this long.</param>
/// <param name="OnlyIfAbsent">When true, the write succeeds only if the key does not exist yet (create-only).</param>
public sealed record StateWriteOptions(string? ETag = null, TimeSpan? Ttl = null, bool OnlyIfAbsent = false)
{
    public static readonly StateWriteOptions LastWriteWins = new();
}
