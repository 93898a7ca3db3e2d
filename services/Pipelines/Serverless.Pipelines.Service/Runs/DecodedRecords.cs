using System.Collections.Concurrent;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>
/// Run records this process decoded or wrote, by run id, each with the ETag it was stored under. Only a caller that
/// holds the stored ETag of a record gets the decoded one back, so the cache can never hand out a record the store has
/// since replaced. Bounded by two generations: when the newer holds <see cref="Capacity"/> records it becomes the older
/// and the old older is dropped, so runs still in use stay (a hit in the older generation moves back to the newer).
/// </summary>
internal sealed class DecodedRecords
{
    public const int Capacity = 4096;

    private readonly Lock _swap = new();
    private ConcurrentDictionary<string, Entry> _newer = new(StringComparer.Ordinal);
    private ConcurrentDictionary<string, Entry> _older = new(StringComparer.Ordinal);

    public RunRecord? Find(string runId, string etag)
    {
        if (_newer.TryGetValue(runId, out var entry))
        {
            return entry.ETag == etag ? entry.Record : null;
        }

        if (_older.TryGetValue(runId, out entry) && entry.ETag == etag)
        {
            Remember(runId, entry.Record, etag);
            return entry.Record;
        }

        return null;
    }

    /// <summary>The ETag of the record held for <paramref name="runId"/>, if any: a read may then leave the value out.</summary>
    public string? ETagOf(string runId) =>
        _newer.TryGetValue(runId, out var entry) || _older.TryGetValue(runId, out entry) ? entry.ETag : null;

    public void Remember(string runId, RunRecord record, string etag)
    {
        var newer = _newer;
        if (newer.Count >= Capacity && !newer.ContainsKey(runId))
        {
            lock (_swap)
            {
                if (ReferenceEquals(newer, _newer))
                {
                    _older = newer;
                    _newer = new ConcurrentDictionary<string, Entry>(StringComparer.Ordinal);
                }

                newer = _newer;
            }
        }

        newer[runId] = new Entry(record, etag);
    }

    public void Forget(string runId)
    {
        _newer.TryRemove(runId, out _);
        _older.TryRemove(runId, out _);
    }

    private sealed record Entry(RunRecord Record, string ETag);
}
