using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Active;

/// <summary>
/// This instance's compiled snapshot of the Active promotions, swapped atomically, so calculate never does I/O.
/// Reloaded when the catalog version (the ETag of one key every relevant change writes) differs from the one the
/// current view was read at: checked every <see cref="PromotionsOptions.RefreshInterval"/> by
/// <see cref="ActivePromotionsRefresher"/>, at once after a change through this instance, and on promotion.changed.
/// </summary>
public sealed class ActivePromotions(IStateStore state, ILogger<ActivePromotions> logger) : IDisposable
{
    private readonly SemaphoreSlim _reload = new(1, 1);
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
            var version = (await state.GetAsync(PromotionKeys.CatalogVersion, cancellationToken).ConfigureAwait(false))?.ETag ?? string.Empty;
            if (!force && version == Current.Version)
            {
                return false;
            }

            var records = new List<PromotionRecord>();
            await foreach (var keys in PagesAsync(PromotionKeys.StatusList(PromotionStatus.Active), cancellationToken).ConfigureAwait(false))
            {
                var prefix = PromotionKeys.StatusList(PromotionStatus.Active).Length;
                var items = await state.GetBulkAsync(keys.Select(k => PromotionKeys.Promotion(k[prefix..])).ToList(), cancellationToken).ConfigureAwait(false);
                records.AddRange(items.Select(i => i.Deserialize<PromotionRecord>()).Where(r => r.Status == PromotionStatus.Active));
            }

            var exhausted = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var keys in PagesAsync(PromotionKeys.ExhaustedPrefix, cancellationToken).ConfigureAwait(false))
            {
                exhausted.UnionWith(keys.Select(k => k[PromotionKeys.ExhaustedPrefix.Length..]));
            }

            records.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            PromotionSnapshot snapshot;
            try
            {
                snapshot = PromotionSnapshot.Compile(records.Select(r => r.Definition));
            }
            catch (Engine.Validation.PromotionDefinitionException ex)
            {
                // Every definition was validated when stored; this means an engine upgrade rejects an old one. Keep serving the last good view.
                logger.LogError(ex, "Active promotions do not compile; keeping the previous snapshot");
                return false;
            }

            Volatile.Write(ref _current, new ActiveView(snapshot, records.ToDictionary(r => r.Id, StringComparer.Ordinal), exhausted, version));
            return true;
        }
        finally
        {
            _reload.Release();
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
    public static ActiveView Empty { get; } = new(PromotionSnapshot.Compile(Array.Empty<PromotionDefinition>()), new Dictionary<string, PromotionRecord>(), new HashSet<string>(), null);
}
