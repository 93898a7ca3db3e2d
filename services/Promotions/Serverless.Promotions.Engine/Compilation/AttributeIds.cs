namespace Serverless.Promotions.Engine.Compilation;

/// <summary>
/// Every sku, category, brand and tag a snapshot's predicates mention, numbered. A basket line's attributes are
/// looked up once per calculation; predicates then compare small integers instead of hashing strings per check.
/// Written only while the snapshot compiles, read-only (and so thread-safe) afterwards.
/// </summary>
internal sealed class AttributeIds
{
    // One string-keyed dictionary per kind rather than one keyed by (kind, value): a string key with the default
    // comparer gets the runtime's non-randomised string hashing, and a lookup no longer hashes a composite key. The
    // lookups are a per-line cost of every calculation.
    private readonly Dictionary<string, int>[] _byKind = [[], [], [], []];

    public int Count { get; private set; }

    public int Register(IndexKind kind, string value)
    {
        var ids = _byKind[(int)kind];
        if (!ids.TryGetValue(value, out var id))
        {
            ids[value] = id = Count++;
        }

        return id;
    }

    /// <summary>The attribute's number, or -1 when no predicate mentions it (it then matches nothing).</summary>
    public int Find(IndexKind kind, string? value) =>
        value is not null && _byKind[(int)kind].TryGetValue(value, out var id) ? id : -1;
}
