using System.Globalization;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Ledger;

public enum LedgerOutcomeKind
{
    Committed,
    AlreadyCommitted,

    /// <summary>The order id is already committed with a different request (basket, channel, store, customer or coupons).</summary>
    OrderIdReused,
    Released,
    LimitReached,
    Invalid,
    NotFound,
}

/// <summary>What a commit or release did. LimitReached carries the basket recalculated without the promotions that ran out.</summary>
public sealed record LedgerOutcome(LedgerOutcomeKind Kind, OrderRecord? Order = null, PricingResult? Recalculated = null, IReadOnlyList<string>? Exhausted = null, IReadOnlyList<ValidationProblem>? Problems = null)
{
    public static LedgerOutcome Invalid(IReadOnlyList<ValidationProblem> problems) => new(LedgerOutcomeKind.Invalid, Problems: problems);
}

/// <summary>Budget threshold event payload (published once at 80 % and once at 100 %).</summary>
public sealed record BudgetThresholdReached(string PromotionId, int Percent, decimal DiscountGiven, long Orders, decimal? TotalDiscount, long? TotalUses);

/// <summary>promotion.settlement.adjusted payload: what a late return or cancellation changed (negative amounts) after settlement.</summary>
public sealed record SettlementAdjusted(string PromotionId, string OrderId, string Store, long Orders, long Units, decimal Discount);

/// <summary>
/// Budgets and usage limits, with group commit. A commit prices the order with the active snapshot and consumes every
/// applied promotion's budget atomically; the order id is the idempotency key. Commits and releases (cancels, returns)
/// queue for one in-process committer, which takes everything queued while the previous batch was being written and
/// runs it as a <see cref="LedgerBatch"/>: one bulk read of the order records and counters, each item in arrival order
/// against the running counters (a limit that would be exceeded marks that promotion exhausted for a recalculation;
/// unless the caller accepts the recalculated basket, that order writes nothing and gets it back, 409), then ONE
/// transaction with every order record (create-only) and the final counter values (ETag-checked). When another
/// instance changed a counter or committed one of the order ids first, the batch is read and run again.
/// </summary>
public sealed class BudgetLedger(IStateStore state, TimeProvider time, ActivePromotions active)
{
    /// <summary>At most this many commits and releases go into one transaction.</summary>
    internal const int MaxBatch = 256;

    /// <summary>At most this many counters are remembered between batches (beyond it, the memory starts again empty).</summary>
    private const int MaxKnownCounters = 100_000;

    private readonly Lock _gate = new();

    /// <summary>
    /// Usage, per-customer and per-coupon counters as this instance last read or wrote them, with their ETags (only the
    /// committer touches it). Just a guess: every write is still ETag-checked.
    /// </summary>
    private readonly Dictionary<string, KnownItem> _counters = new(StringComparer.Ordinal);
    private readonly Queue<LedgerWork> _queue = new();
    private bool _draining;
    private bool _held;
    private long _contended;
    private long _batches;
    private long _batched;

    /// <summary>Batches that had to be read and run again because another writer changed the same counters or order ids first (for monitoring and benchmarks).</summary>
    public long ContendedCommits => Interlocked.Read(ref _contended);

    /// <summary>Batches written so far and the commits and releases they held (their ratio is the mean batch size).</summary>
    public (long Batches, long Items) BatchStatistics => (Interlocked.Read(ref _batches), Interlocked.Read(ref _batched));

    public Task<LedgerOutcome> CommitAsync(OrderCommit commit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(commit);
        var problems = new List<ValidationProblem>();
        if (!PromotionKeys.IsValidPart(commit.OrderId))
        {
            problems.Add(new("orderId", "1–128 letters, digits, '.', '_', '-' or ':'"));
        }

        if (commit.Order is null)
        {
            problems.Add(new("order", "is required"));
            return Task.FromResult(LedgerOutcome.Invalid(problems));
        }

        var customer = commit.Order.Customer?.Id;
        if (customer is not null && !PromotionKeys.IsValidPart(customer))
        {
            problems.Add(new("order.customer.id", "1–128 letters, digits, '.', '_', '-' or ':'"));
        }

        var now = time.GetUtcNow();
        var (basket, context, pricingProblems) = commit.Order.ToPricing(now);
        problems.AddRange(pricingProblems.Select(p => p with { Path = "order." + p.Path }));
        if (problems.Count > 0)
        {
            return Task.FromResult(LedgerOutcome.Invalid(problems));
        }

        var store = context!.StoreId ?? "-";
        var channel = context.Channel.ToString().ToLowerInvariant();
        var day = now.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var work = new CommitWork(commit.OrderId!, now, basket!, context, customer, commit.AcceptRecalculated, store, channel, day, cancellationToken)
        {
            RequestDigest = OrderDigest.Of(basket!, context, customer),
        };
        work.PrepareIn(active.Current);
        return EnqueueAsync(work);
    }

    /// <summary>
    /// Cancels an order (no lines: gives back everything it consumed, including the use) or applies a partial return
    /// (lines: gives back each returned line's share of each promotion's discount; the use comes back when every unit
    /// has been returned). Idempotent: a cancelled order, or a return id seen before, changes nothing. Goes through the
    /// same committer as commits, so it interleaves with them in arrival order.
    /// </summary>
    public Task<LedgerOutcome> ReleaseAsync(string orderId, OrderReturn? request, CancellationToken cancellationToken = default)
    {
        if (!PromotionKeys.IsValidPart(orderId))
        {
            return Task.FromResult(new LedgerOutcome(LedgerOutcomeKind.NotFound));
        }

        if (request?.Lines is { Count: > 0 } && !PromotionKeys.IsValidPart(request.ReturnId))
        {
            return Task.FromResult(LedgerOutcome.Invalid([new("returnId", "is required for a partial return (1–128 letters, digits, '.', '_', '-' or ':')")]));
        }

        return EnqueueAsync(new ReleaseWork(orderId, time.GetUtcNow(), request, cancellationToken));
    }

    private Task<LedgerOutcome> EnqueueAsync(LedgerWork work)
    {
        lock (_gate)
        {
            _queue.Enqueue(work);
        }

        StartDraining();
        return work.Completion.Task.WaitAsync(work.CancellationToken);
    }

    private void StartDraining()
    {
        lock (_gate)
        {
            if (_draining || _held || _queue.Count == 0)
            {
                return;
            }

            _draining = true;
        }

        _ = Task.Run(DrainAsync);
    }

    /// <summary>For tests: commits and releases queue up but no batch starts until <see cref="Resume"/> (which takes them as one batch).</summary>
    internal void Hold()
    {
        lock (_gate)
        {
            _held = true;
        }
    }

    internal void Resume()
    {
        lock (_gate)
        {
            _held = false;
        }

        StartDraining();
    }

    /// <summary>
    /// The committer: runs while anything is queued, and is the only one working out and writing batches here. Batches
    /// are pipelined one deep: while one batch's transaction is in flight, the next is read and worked out on top of the
    /// values being written (see <see cref="KnownItem"/>); it is written once the first is through, or worked out again
    /// from fresh reads when the first failed. A batch holding a cancel or return waits for the write before it.
    /// </summary>
    private async Task DrainAsync()
    {
        Writing? writing = null;
        while (true)
        {
            var batch = new List<LedgerWork>();
            lock (_gate)
            {
                if (_held && writing is null)
                {
                    _draining = false;
                    return;
                }

                while (batch.Count < MaxBatch && !_held && _queue.TryDequeue(out var work))
                {
                    if (work.CancellationToken.IsCancellationRequested)
                    {
                        work.Completion.TrySetCanceled(work.CancellationToken);
                    }
                    else
                    {
                        batch.Add(work);
                    }
                }

                if (batch.Count == 0 && writing is null && _queue.Count == 0)
                {
                    _draining = false;
                    return;
                }
            }

            if (batch.Count == 0 || (writing is not null && batch.Exists(w => w is ReleaseWork)))
            {
                await FinishAsync(writing).ConfigureAwait(false);
                writing = null;
                if (batch.Count == 0)
                {
                    continue;
                }
            }

            LedgerBatch? run;
            try
            {
                run = (await WorkOutAsync(batch, optimistic: true).ConfigureAwait(false)).Run;
            }
            catch (Exception) when (writing is not null)
            {
                run = null;
            }
            catch (Exception ex)
            {
                await FailAsync(batch, ex).ConfigureAwait(false);
                continue;
            }

            if (writing is not null)
            {
                run = await FinishAsync(writing).ConfigureAwait(false) ? run : null;
                writing = null;
            }

            if (run is null)
            {
                await RunBatchAsync(batch, optimistic: false).ConfigureAwait(false);
                continue;
            }

            try
            {
                writing = StartWrite(batch, run);
            }
            catch (Exception ex)
            {
                await FailAsync(batch, ex).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A batch whose transaction is in flight, and the values it is writing (remembered without ETags until it is through).</summary>
    private sealed record Writing(List<LedgerWork> Batch, LedgerBatch Run, StateTransaction Transaction, Task<IReadOnlyList<string>> Write, List<(int Operation, KnownItem Item)> Counters);

    /// <summary>
    /// Reads what a batch needs and works it out. Optimistic: counters this instance has read or written before are
    /// taken from <see cref="_counters"/>, and the order records of new commits are taken to be absent (the create-only
    /// write checks that). Anything stale makes the write fail on its ETag; the batch is then worked out again, not optimistically.
    /// </summary>
    private async Task<(LedgerBatch Run, Dictionary<string, KnownItem?> Loaded)> WorkOutAsync(List<LedgerWork> batch, bool optimistic)
    {
        var run = new LedgerBatch(active.Current, batch);
        var loaded = new Dictionary<string, KnownItem?>(StringComparer.Ordinal);
        var released = optimistic ? batch.OfType<ReleaseWork>().Select(r => r.OrderKey).ToHashSet(StringComparer.Ordinal) : [];
        var assumedNew = new HashSet<string>(StringComparer.Ordinal);
        for (var keys = run.InitialKeys(); keys.Count > 0; keys = run.Run(loaded))
        {
            var read = new List<string>(keys.Count);
            foreach (var key in keys)
            {
                if (optimistic && _counters.TryGetValue(key, out var known))
                {
                    loaded[key] = known;
                }
                else if (optimistic && key.StartsWith(PromotionKeys.OrderPrefix, StringComparison.Ordinal) && !released.Contains(key))
                {
                    loaded[key] = null;
                    assumedNew.Add(key);
                }
                else
                {
                    read.Add(key);
                }
            }

            if (read.Count > 0)
            {
                await ReadAsync(read, loaded).ConfigureAwait(false);
            }
        }

        // A commit refused for a limit writes no order record, so the create-only write that would have caught an order id
        // taken before never happens for it: a retried commit would be told 409 instead of getting its order back. Such
        // order records are read for real and the batch is worked out again.
        var unverified = new List<string>();
        for (var i = 0; i < batch.Count; i++)
        {
            if (run.Outcomes[i].Kind == LedgerOutcomeKind.LimitReached && assumedNew.Contains(batch[i].OrderKey))
            {
                unverified.Add(batch[i].OrderKey);
            }
        }

        if (unverified.Count > 0)
        {
            await ReadAsync(unverified, loaded).ConfigureAwait(false);
            for (var keys = run.Run(loaded); keys.Count > 0; keys = run.Run(loaded))
            {
                await ReadAsync([.. keys], loaded).ConfigureAwait(false);
            }
        }

        return (run, loaded);
    }

    /// <summary>Starts writing a worked-out batch; the counters it writes are remembered at once, without ETags, for the next batch to build on.</summary>
    private Writing StartWrite(List<LedgerWork> batch, LedgerBatch run)
    {
        var tx = run.Transaction(time.GetUtcNow());
        var counters = new List<(int, KnownItem)>();
        for (var i = 0; i < tx.Operations.Count; i++)
        {
            if (tx.Operations[i] is StateOperation.Upsert upsert && IsCounter(upsert.Key))
            {
                var item = KnownItem.Writing(upsert.Key, upsert.Value, run.WrittenCounter(upsert.Key)!);
                Remember(item);
                counters.Add((i, item));
            }
        }

        var write = tx.Operations.Count == 0 ? Task.FromResult<IReadOnlyList<string>>([]) : state.TransactAsync(tx);
        return new Writing(batch, run, tx, write, counters);
    }

    /// <summary>
    /// Waits for a batch's write. Through: the remembered counters get their ETags and every caller its answer (true).
    /// Failed: what the batch wrote or read is forgotten and the batch is worked out again from fresh reads (false: a
    /// batch worked out on top of it is stale).
    /// </summary>
    private async Task<bool> FinishAsync(Writing? writing)
    {
        if (writing is null)
        {
            return true;
        }

        IReadOnlyList<string> etags;
        try
        {
            etags = await writing.Write.ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            foreach (var (_, item) in writing.Counters)
            {
                _counters.Remove(item.Key);
            }

            if (ex is ETagMismatchException)
            {
                Interlocked.Increment(ref _contended);
                await RunBatchAsync(writing.Batch, optimistic: false).ConfigureAwait(false);
            }
            else
            {
                await FailAsync(writing.Batch, ex).ConfigureAwait(false);
            }

            return false;
        }

        foreach (var (operation, item) in writing.Counters)
        {
            item.Confirm(etags[operation]);
        }

        Complete(writing.Batch, writing.Run);
        return true;
    }

    private void Complete(List<LedgerWork> batch, LedgerBatch run)
    {
        Interlocked.Increment(ref _batches);
        Interlocked.Add(ref _batched, batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Completion.TrySetResult(run.Outcomes[i]);
        }

        if (run.ExhaustedChanged)
        {
            InvalidateView();
        }
    }

    /// <summary>Works out and writes one batch on its own (nothing else in flight) until it is written; completes every item. Never throws.</summary>
    private async Task RunBatchAsync(List<LedgerWork> batch, bool optimistic)
    {
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var (run, loaded) = await WorkOutAsync(batch, optimistic && attempt == 1).ConfigureAwait(false);
                var writing = StartWrite(batch, run);
                try
                {
                    var etags = await writing.Write.ConfigureAwait(false);
                    foreach (var (operation, item) in writing.Counters)
                    {
                        item.Confirm(etags[operation]);
                    }
                }
                catch (ETagMismatchException)
                {
                    // Another instance changed a counter, or one of these order ids was committed before: forget what
                    // this batch took as known, read it all and run the batch again (a repeated order id then finds
                    // its stored order). After a few rounds the jitter lets competing instances take turns.
                    Interlocked.Increment(ref _contended);
                    foreach (var key in loaded.Keys.Concat(writing.Counters.Select(c => c.Item.Key)))
                    {
                        _counters.Remove(key);
                    }

                    if (attempt > 2)
                    {
                        await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 20))).ConfigureAwait(false);
                    }

                    continue;
                }

                Complete(batch, run);
                return;
            }
        }
        catch (Exception ex)
        {
            await FailAsync(batch, ex).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Something other than a conflict (a value too large, a lost connection, a deadlock): each item is run on its own,
    /// so one bad order does not fail the others and each caller gets its own answer; a lone item gets the error.
    /// </summary>
    private async Task FailAsync(List<LedgerWork> batch, Exception error)
    {
        _counters.Clear();
        if (batch.Count == 1)
        {
            batch[0].Completion.TrySetException(error);
            return;
        }

        foreach (var work in batch)
        {
            await RunBatchAsync([work], optimistic: false).ConfigureAwait(false);
        }
    }

    private static bool IsCounter(string key) => key.StartsWith(PromotionKeys.UsagePrefix, StringComparison.Ordinal);

    private void Remember(KnownItem item)
    {
        if (_counters.Count >= MaxKnownCounters && !_counters.ContainsKey(item.Key))
        {
            _counters.Clear();
        }

        _counters[item.Key] = item;
    }

    /// <summary>Asks calculate to reload (a promotion became exhausted or available again); the answers are already given, so a view shut down meanwhile is no error.</summary>
    private void InvalidateView()
    {
        try
        {
            active.Invalidate();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    private async Task ReadAsync(IReadOnlyCollection<string> keys, Dictionary<string, KnownItem?> loaded)
    {
        foreach (var key in keys)
        {
            loaded[key] = null;
        }

        foreach (var item in await state.GetBulkAsync(keys).ConfigureAwait(false))
        {
            var known = KnownItem.Read(item);
            loaded[item.Key] = known;
            if (IsCounter(item.Key))
            {
                Remember(known);
            }
        }
    }

    public async Task<OrderRecord?> GetOrderAsync(string orderId, CancellationToken cancellationToken = default) =>
        PromotionKeys.IsValidPart(orderId) ? (await state.GetJsonAsync<OrderRecord>(PromotionKeys.Order(orderId), cancellationToken).ConfigureAwait(false))?.Value : null;

    public async Task<PromotionReport?> GetReportAsync(PromotionRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var usage = (await state.GetJsonAsync<PromotionUsage>(PromotionKeys.Usage(record.Id), cancellationToken).ConfigureAwait(false))?.Value ?? PromotionUsage.Empty(record.Id);
        return new PromotionReport(record.Id, record.Status.ToString(), usage.Currency, usage.Orders, usage.Units, usage.Discount,
            record.Budget?.TotalDiscount - usage.Discount, record.Budget?.TotalUses - usage.Orders, usage.ByStore, usage.ByChannel, usage.ByDay);
    }

    internal static bool IsSpent(PromotionUsage usage, PromotionBudget? budget) =>
        (budget?.TotalDiscount is { } total && usage.Discount >= total) || (budget?.TotalUses is { } uses && usage.Orders >= uses);

    /// <summary>The larger of discount given / total discount and orders / total uses (0 without a budget).</summary>
    internal static decimal SpentRatio(PromotionUsage usage, PromotionBudget? budget) => Math.Max(
        budget?.TotalDiscount is { } total ? (total == 0 ? 1m : usage.Discount / total) : 0m,
        budget?.TotalUses is { } uses ? (uses == 0 ? 1m : (decimal)usage.Orders / uses) : 0m);
}
