namespace Serverless.Promotions.Engine.Compilation;

/// <summary>
/// Every sku, category, brand and tag a snapshot's predicates mention, numbered. A basket line's attributes are
/// looked up once per calculation; predicates then compare small integers instead of hashing strings per check.
/// Written only while the snapshot compiles, read-only (and so thread-safe) afterwards.
/// </summary>
internal sealed class AttributeIds
{
    private readonly Dictionary<IndexKey, int> _ids = [];

    public int Count => _ids.Count;

    public int Register(IndexKind kind, string value)
    {
        var key = new IndexKey(kind, value);
        if (!_ids.TryGetValue(key, out var id))
        {
            _ids[key] = id = _ids.Count;
        }

        return id;
    }

    /// <summary>The attribute's number, or -1 when no predicate mentions it (it then matches nothing).</summary>
    public int Find(IndexKind kind, string? value) =>
        value is not null && _ids.TryGetValue(new IndexKey(kind, value), out var id) ? id : -1;
}
