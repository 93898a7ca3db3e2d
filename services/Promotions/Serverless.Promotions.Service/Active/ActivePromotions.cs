using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Active;

/// <summary>
/// This instance's compiled snapshot of the Active promotions, swapped atomically, so calculate never does I/O.
/// Reloaded when the catalog version (the ETag of one key every relevant change writes) differs from the one the
/// current view was read at: checked every <see cref="PromotionsOptions.RefreshInterval"/> by
/// <see cref="ActivePromotionsRefresher"/>, at once after a change through this instance, and on promotion.changed.
/// The snapshot includes the coupon batches of the active promotions, with keys derived from <paramref name="coupons"/>
/// (by default the secret stored in <paramref name="state"/>).
/// </summary>
public sealed class ActivePromotions(IStateStore state, TimeProvider time, ILogger<ActivePromotions> logger, CouponSecret? coupons = null, PricingOptions? pricing = null) : IDisposable
{
    private readonly CouponSecret _coupons = coupons ?? new CouponSecret(state);

    /// <summary>How long journal entries live; far longer than any instance goes without a check.</summary>
    internal static readonly TimeSpan JournalRetention = TimeSpan.FromMinutes(10);

    /// <summary>Journal seconds re-read before the last check: covers clock skew between instances and commits that took a while.</summary>
    private static readonly TimeSpan JournalOverlap = TimeSpan.FromSeconds(5);

    /// <summary>Beyond this since the last check, or since the last full reload, everything is read again (a safety net for the journal).</summary>
    private static readonly TimeSpan IncrementalLimit = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan FullReloadEvery = TimeSpan.FromMinutes(5);

    private readonly SemaphoreSlim _reload = new(1, 1);
    private Dictionary<string, PromotionRecord>? _records;

    /// <summary>The state store's ETag of each record in <see cref="_records"/> as read: a record read again with the same ETag keeps its object.</summary>
    private Dictionary<string, string> _etags = new(StringComparer.Ordinal);

    /// <summary><see cref="_records"/> in ordinal id order, as the snapshot is compiled from them.</summary>
    private List<PromotionRecord> _ordered = [];
    private DateTimeOffset _lastCheck;
    private DateTimeOffset _lastFullReload;
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private ActiveView _current = ActiveView.Empty;

    /// <summary>The view calculate prices against; never null, empty before the first load.</summary>
    public ActiveView Current => Volatile.Read(ref _current);

    /// <summary>Asks the refresher to check now (a change made here, or a promotion.changed event).</summary>
    public void Invalidate() => _wake.Release();

    internal Task<bool> WaitForWakeAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wake.WaitAsync(timeout, cancellationToken);

    /// <summary>Reloads when the catalog version moved (or always with <paramref name="force"/>). Returns true when it swapped the view.</summary>
    public async Task<bool> RefreshAsync(bool force = false, CancellationToken cancellationToken = default)
    {
        await _reload.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The version is read before the promotions: a change committed after this read moves the version again,
            // so the next check reloads; one committed before it is in what is read below.
            var now = time.GetUtcNow();
            var version = (await state.GetAsync(PromotionKeys.CatalogVersion, cancellationToken).ConfigureAwait(false))?.ETag ?? string.Empty;
            if (!force && version == Current.Version)
            {
                _lastCheck = now;
                return false;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var full = force || _records is null || now - _lastCheck > IncrementalLimit || now - _lastFullReload > FullReloadEvery;
            var (records, etags, changed) = full
                ? await ReadAllActiveAsync(cancellationToken).ConfigureAwait(false)
                : await ApplyJournalAsync(_records!, _lastCheck - JournalOverlap, now, cancellationToken).ConfigureAwait(false);
            if (full)
            {
                _lastFullReload = now;
            }

            var exhausted = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var keys in PagesAsync(PromotionKeys.ExhaustedPrefix, cancellationToken).ConfigureAwait(false))
            {
                exhausted.UnionWith(keys.Select(k => k[PromotionKeys.ExhaustedPrefix.Length..]));
            }

            var exhaustedCoupons = await ExhaustedStaticCodesAsync(records.Values, cancellationToken).ConfigureAwait(false);
            PromotionSnapshot snapshot;
            var ordered = changed is null ? [.. records.Values.OrderBy(r => r.Id, StringComparer.Ordinal)] : Reordered(_ordered, records, changed);
            var batches = await CouponBatches.ForSnapshotAsync(ordered, _coupons, cancellationToken).ConfigureAwait(false);
            try
            {
                // Compiled again after a change, the snapshot takes over every promotion whose record kept its object (read
                // again with the same ETag, or not read again at all): a change costs about what the changed promotions cost.
                var definitions = ordered.Select(r => r.Definition);
                snapshot = Current.Version is null
                    ? PromotionSnapshot.Compile(definitions, batches, pricing)
                    : Current.Snapshot.Recompile(definitions, batches);
            }
            catch (Engine.Validation.PromotionDefinitionException ex)
            {
                // Every definition was validated when stored; this means an engine upgrade rejects an old one. Keep serving the last good view.
                logger.LogError(ex, "Active promotions do not compile; keeping the previous snapshot");
                return false;
            }

            Volatile.Write(ref _current, new ActiveView(snapshot, records, exhausted, version) { ExhaustedCoupons = exhaustedCoupons });
            _records = records;
            _etags = etags;
            _ordered = ordered;
            _lastCheck = now;
            logger.LogInformation("Active promotions {How}: {Count} active, {Exhausted} exhausted, in {Milliseconds:F0} ms",
                full ? "reloaded" : "updated from the journal", records.Count, exhausted.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return true;
        }
        finally
        {
            _reload.Release();
        }
    }

    /// <summary>
    /// The static coupon codes whose per-code use count has reached the promotion's perCouponCode limit, read from the
    /// ledger's counters (a handful of keys: only promotions with that limit and static codes). The ledger moves the
    /// catalog version whenever a static code's count crosses its limit either way, and a budget change moves it too, so
    /// this is re-read exactly when it can have changed. Generated (batch) codes are not carried: there can be millions.
    /// </summary>
    private async Task<IReadOnlyDictionary<string, IReadOnlySet<string>>> ExhaustedStaticCodesAsync(IEnumerable<PromotionRecord> records, CancellationToken cancellationToken)
    {
        var limited = new List<(string PromotionId, string Code, long Limit, string Key)>();
        foreach (var record in records)
        {
            if (record.Budget?.PerCouponCode is { } limit && record.Definition.Coupon?.Codes is { Count: > 0 } codes)
            {
                limited.AddRange(codes.Where(PromotionKeys.IsValidPart).Distinct(StringComparer.Ordinal).Select(code => (record.Id, code, limit, PromotionKeys.CouponUses(record.Id, code))));
            }
        }

        var exhausted = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        if (limited.Count == 0)
        {
            return new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);
        }

        var uses = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var chunk in limited.Chunk(StateKeys.MaxPageSize))
        {
            foreach (var item in await state.GetBulkAsync(chunk.Select(l => l.Key).ToList(), cancellationToken).ConfigureAwait(false))
            {
                uses[item.Key] = item.Deserialize<Ledger.UseCount>().Uses;
            }
        }

        foreach (var (promotionId, code, limit, key) in limited)
        {
            if (uses.TryGetValue(key, out var count) && count >= limit)
            {
                if (!exhausted.TryGetValue(promotionId, out var codes))
                {
                    exhausted[promotionId] = codes = new HashSet<string>(StringComparer.Ordinal);
                }

                codes.Add(code);
            }
        }

        return exhausted.ToDictionary(e => e.Key, e => (IReadOnlySet<string>)e.Value, StringComparer.Ordinal);
    }

    /// <summary>
    /// <paramref name="previous"/> (in id order) with the <paramref name="changed"/> ids taken out and those still active
    /// in <paramref name="records"/> put back at their places: a binary search per changed id instead of sorting all.
    /// </summary>
    internal static List<PromotionRecord> Reordered(List<PromotionRecord> previous, IReadOnlyDictionary<string, PromotionRecord> records, IReadOnlySet<string> changed)
    {
        if (changed.Count > 64)
        {
            return [.. records.Values.OrderBy(r => r.Id, StringComparer.Ordinal)];
        }

        var removed = new List<int>(changed.Count);
        foreach (var id in changed)
        {
            if (IndexOf(previous, id) is var at and >= 0)
            {
                removed.Add(at);
            }
        }

        removed.Sort();
        var ordered = new List<PromotionRecord>(records.Count + 1);
        var kept = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(previous);
        var from = 0;
        foreach (var at in removed)
        {
            ordered.AddRange(kept[from..at]);
            from = at + 1;
        }

        ordered.AddRange(kept[from..]);
        foreach (var id in changed)
        {
            if (records.TryGetValue(id, out var record))
            {
                ordered.Insert(~IndexOf(ordered, id), record);
            }
        }

        return ordered;
    }

    /// <summary>The index of <paramref name="id"/> in <paramref name="ordered"/> (in ordinal id order), or the complement of where it would go.</summary>
    private static int IndexOf(List<PromotionRecord> ordered, string id) =>
        System.Runtime.InteropServices.CollectionsMarshal.AsSpan(ordered).BinarySearch(new ById(id));

    /// <summary>Compares a record with an id, ordinal, for the span's binary search.</summary>
    private readonly struct ById(string id) : IComparable<PromotionRecord>
    {
        public int CompareTo(PromotionRecord? other) => string.CompareOrdinal(id, other?.Id);
    }

    private async Task<(Dictionary<string, PromotionRecord>, Dictionary<string, string>, IReadOnlySet<string>?)> ReadAllActiveAsync(CancellationToken cancellationToken)
    {
        var records = new Dictionary<string, PromotionRecord>(StringComparer.Ordinal);
        var etags = new Dictionary<string, string>(StringComparer.Ordinal);
        var prefix = PromotionKeys.StatusList(PromotionStatus.Active);
        await foreach (var keys in PagesAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            var items = await state.GetBulkAsync(keys.Select(k => PromotionKeys.Promotion(k[prefix.Length..])).ToList(), cancellationToken).ConfigureAwait(false);
            foreach (var item in items)
            {
                Take(item, records, etags);
            }
        }

        return (records, etags, null);
    }

    /// <summary>Re-reads only the promotions the journal names for the seconds from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private async Task<(Dictionary<string, PromotionRecord>, Dictionary<string, string>, IReadOnlySet<string>?)> ApplyJournalAsync(
        Dictionary<string, PromotionRecord> current, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        var changed = new HashSet<string>(StringComparer.Ordinal);
        for (var second = from.AddTicks(-(from.UtcTicks % TimeSpan.TicksPerSecond)); second <= to; second = second.AddSeconds(1))
        {
            var prefix = PromotionKeys.JournalSecond(second);
            await foreach (var keys in PagesAsync(prefix, cancellationToken).ConfigureAwait(false))
            {
                changed.UnionWith(keys.Select(k => k[prefix.Length..].Split("||")[0]));
            }
        }

        var records = new Dictionary<string, PromotionRecord>(current, StringComparer.Ordinal);
        var etags = new Dictionary<string, string>(_etags, StringComparer.Ordinal);
        if (changed.Count == 0)
        {
            return (records, etags, changed);
        }

        foreach (var id in changed)
        {
            records.Remove(id);
            etags.Remove(id);
        }

        foreach (var item in await state.GetBulkAsync(changed.Select(PromotionKeys.Promotion).ToList(), cancellationToken).ConfigureAwait(false))
        {
            Take(item, records, etags);
        }

        return (records, etags, changed);
    }

    /// <summary>
    /// Adds the record <paramref name="item"/> holds when it is Active; the object already held for it when its ETag did
    /// not move (a journal entry for a budget that ran out, or the periodic full read), so the snapshot need not compile
    /// it again.
    /// </summary>
    private void Take(StateItem item, Dictionary<string, PromotionRecord> records, Dictionary<string, string> etags)
    {
        var id = item.Key[PromotionKeys.PromotionPrefix.Length..];
        if (_etags.TryGetValue(id, out var etag) && etag == item.ETag && _records?.TryGetValue(id, out var same) == true)
        {
            records[id] = same;
            etags[id] = etag;
            return;
        }

        var record = item.Deserialize<PromotionRecord>();
        if (record.Status == PromotionStatus.Active)
        {
            records[record.Id] = record;
            etags[record.Id] = item.ETag;
        }
    }

    public void Dispose()
    {
        _reload.Dispose();
        _wake.Dispose();
    }

    private async IAsyncEnumerable<IReadOnlyList<string>> PagesAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? cursor = null;
        do
        {
            var page = await state.ListKeysAsync(prefix, StateKeys.MaxPageSize, cursor, cancellationToken).ConfigureAwait(false);
            if (page.Keys.Count > 0)
            {
                yield return page.Keys;
            }

            cursor = page.ContinuationToken;
        }
        while (cursor is not null);
    }
}

/// <summary>One consistent picture: the compiled Active definitions, their catalog records, and which are out of budget.</summary>
public sealed record ActiveView(PromotionSnapshot Snapshot, IReadOnlyDictionary<string, PromotionRecord> Records, IReadOnlySet<string> Exhausted, string? Version)
{
    /// <summary>Static coupon codes at their perCouponCode limit, by promotion id (see <see cref="PricingContext.ExhaustedCouponCodes"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlySet<string>> ExhaustedCoupons { get; init; } = new Dictionary<string, IReadOnlySet<string>>(StringComparer.Ordinal);

    /// <summary><paramref name="context"/> with what this view knows to be used up: promotions out of budget, static codes at their limit.</summary>
    public PricingContext WithUsedUp(PricingContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context with { ExhaustedPromotionIds = Exhausted, ExhaustedCouponCodes = ExhaustedCoupons };
    }

    public static ActiveView Empty { get; } = new(PromotionSnapshot.Compile(Array.Empty<PromotionDefinition>()), new Dictionary<string, PromotionRecord>(), new HashSet<string>(), null);
}
