namespace Serverless.Promotions.Engine.Compilation;

/// <summary>
/// Every sku, category, brand and tag a snapshot's predicates mention, numbered. A basket line's attributes are
/// looked up once per calculation; predicates then compare small integers instead of hashing strings per check.
/// Written only while the snapshot compiles, read-only (and so thread-safe) afterwards. A snapshot compiled again after
/// a change starts from a <see cref="Copy"/> of its predecessor's numbers, so the promotions it takes over unchanged
/// keep theirs.
/// </summary>
internal sealed class AttributeIds
{
    // One string-keyed dictionary per kind rather than one keyed by (kind, value): a string key with the default
    // comparer gets the runtime's non-randomised string hashing, and a lookup no longer hashes a composite key. The
    // lookups are a per-line cost of every calculation.
    private readonly Dictionary<string, int>[] _byKind;

    public AttributeIds() => _byKind = [[], [], [], []];

    private AttributeIds(AttributeIds source)
    {
        _byKind = [.. source._byKind.Select(ids => new Dictionary<string, int>(ids))];
        Count = source.Count;
        FromFullCompile = source.FromFullCompile;
    }

    public int Count { get; private set; }

    /// <summary>
    /// How many numbers the last full compile gave out. Those added since by recompiles may name values no promotion
    /// mentions any more (a changed promotion's old skus): harmless, but the table only grows until the next full compile.
    /// </summary>
    public int FromFullCompile { get; private set; }

    /// <summary>Marks every number given out so far as the full compile's.</summary>
    public void EndFullCompile() => FromFullCompile = Count;

    /// <summary>An independent copy to register more values in (the original stays read-only for the snapshot using it).</summary>
    public AttributeIds Copy() => new(this);

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
