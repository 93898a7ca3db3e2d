using System.Text.Json;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>
/// One group commit, without I/O: the queued commits and releases taken in arrival order against the counters as read,
/// each seeing what the ones before it consumed or gave back, so a budget or limit is never exceeded within the batch.
/// <see cref="Run"/> asks for keys it has not been given (the caller reads them and runs it again);
/// <see cref="Transaction"/> is every order record (create-only, or ETag-checked for a release) plus the final value of
/// every counter it touched (ETag-checked, create-only when new) — so a concurrent writer elsewhere makes the whole
/// batch fail and be run again on fresh reads, and nothing is ever half written.
/// </summary>
internal sealed class LedgerBatch(ActiveView view, IReadOnlyList<LedgerWork> work)
{
    private readonly Dictionary<string, OrderSlot> _orders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, UsageSlot> _usage = new(StringComparer.Ordinal);
    private readonly Dictionary<string, CounterSlot> _counters = new(StringComparer.Ordinal);
    private readonly List<(string Topic, CloudEvent Event)> _events = [];
    private readonly Dictionary<string, object> _written = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, KnownItem?> _loaded = new Dictionary<string, KnownItem?>();
    private HashSet<string> _missing = new(StringComparer.Ordinal);

    /// <summary>One outcome per work item, in order (set by a complete <see cref="Run"/>).</summary>
    public LedgerOutcome[] Outcomes { get; } = new LedgerOutcome[work.Count];

    /// <summary>True when a promotion became exhausted or available again: calculate must reload its view.</summary>
    public bool ExhaustedChanged { get; private set; }

    /// <summary>A promotion one of whose static coupon codes reached, or fell back below, its perCouponCode limit in this batch.</summary>
    private string? _couponLimitCrossed;

    /// <summary>The keys a first run will need: every order key, and the counters of the promotions each commit gets as priced now.</summary>
    public IReadOnlyCollection<string> InitialKeys()
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in work)
        {
            keys.Add(item.OrderKey);
            if (item is CommitWork commit)
            {
                var result = commit.PriceIn(view);
                foreach (var outcome in result.Promotions)
                {
                    if (outcome.Applied)
                    {
                        var planned = Plan(outcome, result, commit);
                        keys.Add(PromotionKeys.Usage(planned.PromotionId));
                        AddIfNotNull(keys, planned.CustomerKey);
                        AddIfNotNull(keys, planned.CouponKey);
                    }
                }
            }
        }

        return keys;
    }

    /// <summary>
    /// Takes every item in order against <paramref name="loaded"/> (key → item, null = absent). Returns the keys it
    /// still needs — read them, add them and run again — or an empty set when <see cref="Outcomes"/> and
    /// <see cref="Transaction"/> are complete.
    /// </summary>
    public IReadOnlySet<string> Run(IReadOnlyDictionary<string, KnownItem?> loaded)
    {
        _loaded = loaded;
        _missing = new HashSet<string>(StringComparer.Ordinal);
        _orders.Clear();
        _usage.Clear();
        _counters.Clear();
        _events.Clear();
        _couponLimitCrossed = null;
        Array.Clear(Outcomes);
        for (var i = 0; i < work.Count; i++)
        {
            // An item that lacks a key changes nothing; the ones after it still run, to find what they lack too.
            Outcomes[i] = (work[i] switch
            {
                CommitWork commit => Commit(commit),
                ReleaseWork release => Release(release),
                _ => throw new InvalidOperationException($"Unknown ledger work {work[i].GetType().Name}."),
            })!;
        }

        return _missing;
    }

    /// <summary>The value <see cref="Transaction"/> wrote under a counter key (usage record or use count), or null.</summary>
    public object? WrittenCounter(string key) => _written.GetValueOrDefault(key);

    /// <summary>Everything a complete run changed, as one state transaction (empty when nothing changed).</summary>
    public StateTransaction Transaction(DateTimeOffset now)
    {
        var tx = new StateTransaction();
        foreach (var (key, slot) in _orders)
        {
            if (slot.Dirty)
            {
                tx.Upsert(key, slot.Json ?? JsonSerializer.SerializeToUtf8Bytes(slot.Value, StateStoreJsonExtensions.JsonOptions), Expect(slot.Source));
            }
        }

        // Counters in key order: two instances writing overlapping batches lock the rows in the same order (no deadlock).
        string? changed = null;
        foreach (var (id, slot) in _usage.OrderBy(u => u.Key, StringComparer.Ordinal))
        {
            if (!slot.Dirty)
            {
                continue;
            }

            tx.UpsertJson(PromotionKeys.Usage(id), slot.Value, Expect(slot.Source));
            _written[PromotionKeys.Usage(id)] = slot.Value;
            if (slot.Value.Exhausted != slot.WasExhausted)
            {
                if (slot.Value.Exhausted)
                {
                    tx.Upsert(PromotionKeys.Exhausted(id), "1"u8.ToArray());
                }
                else
                {
                    tx.Delete(PromotionKeys.Exhausted(id));
                }

                changed ??= id;
            }
        }

        foreach (var (key, slot) in _counters.OrderBy(c => c.Key, StringComparer.Ordinal))
        {
            if (slot.Dirty)
            {
                var count = new UseCount(slot.Uses);
                tx.UpsertJson(key, count, Expect(slot.Source));
                _written[key] = count;
            }
        }

        foreach (var (topic, cloudEvent) in _events)
        {
            tx.Publish(topic, cloudEvent);
        }

        changed ??= _couponLimitCrossed;
        if (changed is not null)
        {
            PromotionCatalog.BumpVersion(tx, changed, now);
            ExhaustedChanged = true;
        }

        return tx;
    }

    private LedgerOutcome? Commit(CommitWork commit)
    {
        if (Order(commit.OrderKey) is not { } slot)
        {
            return null;
        }

        if (slot.Value is { } existing)
        {
            // A retry gets the stored order; the same id with another basket is refused (an order stored before digests
            // were kept is taken to match).
            return existing.RequestDigest is null || commit.RequestDigest is null || existing.RequestDigest == commit.RequestDigest
                ? new(LedgerOutcomeKind.AlreadyCommitted, existing)
                : new(LedgerOutcomeKind.OrderIdReused, existing);
        }

        // As a lone commit would: price, mark any promotion whose limit the running counters say would be exceeded
        // as exhausted, and price again until everything fits.
        var prepared = commit.PrepareIn(view);
        var result = prepared.Result;
        HashSet<string>? exhausted = null;
        Dictionary<string, decimal>? caps = null;
        var excluded = new List<string>();
        List<(Planned Planned, UsageSlot Usage, CounterSlot? Customer, CounterSlot? Coupon)> plan;
        while (true)
        {
            plan = [];
            var complete = true;
            foreach (var outcome in result.Promotions)
            {
                if (!outcome.Applied)
                {
                    continue;
                }

                var planned = Plan(outcome, result, commit);
                var usage = Usage(planned.PromotionId);
                var customer = planned.CustomerKey is { } customerKey ? Counter(customerKey) : null;
                var coupon = planned.CouponKey is { } couponKey ? Counter(couponKey) : null;
                if (usage is null || (planned.CustomerKey is not null && customer is null) || (planned.CouponKey is not null && coupon is null))
                {
                    complete = false;
                    continue;
                }

                plan.Add((planned, usage, customer, coupon));
            }

            if (!complete)
            {
                return null;
            }

            var over = plan.Where(p => WouldExceed(p.Planned, p.Usage.Value, p.Customer, p.Coupon)).ToList();
            if (over.Count == 0)
            {
                break;
            }

            // A promotion whose only problem is a budget with less left than this order would take gives what is left (then it
            // is spent and calculate stops offering it); one out of uses, or with nothing left, is left out. Without the cap
            // every later checkout would be refused while calculate kept offering the promotion.
            foreach (var (planned, usage, customer, coupon) in over)
            {
                var left = planned.Budget?.TotalDiscount is { } total ? total - usage.Value.Discount : 0m;
                if (left > 0 && !(caps?.ContainsKey(planned.PromotionId) ?? false) && !WouldExceed(planned with { Discount = left }, usage.Value, customer, coupon))
                {
                    (caps ??= new Dictionary<string, decimal>(StringComparer.Ordinal))[planned.PromotionId] = left;
                }
                else
                {
                    (exhausted ??= new HashSet<string>(view.Exhausted, StringComparer.Ordinal)).Add(planned.PromotionId);
                }

                excluded.Add(planned.PromotionId);
            }

            result = view.Snapshot.Calculate(commit.Basket, view.WithUsedUp(commit.Context) with { ExhaustedPromotionIds = exhausted ?? view.Exhausted, DiscountCaps = caps });
        }

        if (excluded.Count > 0 && !commit.AcceptRecalculated)
        {
            return new(LedgerOutcomeKind.LimitReached, Recalculated: result, Exhausted: [.. excluded.Distinct(StringComparer.Ordinal)]);
        }

        var order = excluded.Count == 0
            ? prepared.Order
            : Order(commit, result, [.. plan.Select(p => new Consumption(p.Planned.PromotionId, p.Planned.Discount, p.Planned.Units, p.Planned.Coupon))]);
        slot.Set(order, excluded.Count == 0 ? prepared.Json : null);
        foreach (var (planned, usage, customer, coupon) in plan)
        {
            var applied = usage.Value.Apply(1, planned.Units, planned.Discount, commit.Store, commit.Channel, commit.Day, commit.Basket.Currency);
            usage.Set(Thresholds(applied, planned.Budget));
            customer?.Set(customer.Uses + 1);
            if (coupon is not null)
            {
                coupon.Set(coupon.Uses + 1);
                if (planned.Budget?.PerCouponCode is { } limit && coupon.Uses == limit && IsStaticCode(view.Records.GetValueOrDefault(planned.PromotionId), planned.Coupon))
                {
                    // The static code is used up now: calculate should say so instead of offering it (see ActivePromotions).
                    _couponLimitCrossed ??= planned.PromotionId;
                }
            }
        }

        return new(LedgerOutcomeKind.Committed, order, Exhausted: excluded);
    }

    private LedgerOutcome? Release(ReleaseWork release)
    {
        if (Order(release.OrderKey) is not { } slot)
        {
            return null;
        }

        if (slot.Value is not { } order)
        {
            return new(LedgerOutcomeKind.NotFound);
        }

        var planned = OrderRelease.Plan(order, release.Request, release.At);
        if (planned.Unchanged is { } unchanged)
        {
            return new(LedgerOutcomeKind.Released, unchanged);
        }

        if (planned.Problems is { } problems)
        {
            return LedgerOutcome.Invalid(problems);
        }

        // Every key first (nothing changes until all are there), then the counters go down.
        var complete = true;
        foreach (var r in planned.Releases)
        {
            complete &= Usage(r.Before.PromotionId) is not null & Load(PromotionKeys.Promotion(r.Before.PromotionId), out _);
            if (r.Use)
            {
                complete &= (order.Customer is null || Counter(PromotionKeys.CustomerUses(r.Before.PromotionId, order.Customer)) is not null)
                    & (r.Before.Coupon is null || Counter(PromotionKeys.CouponUses(r.Before.PromotionId, r.Before.Coupon)) is not null);
            }
        }

        if (!complete)
        {
            return null;
        }

        foreach (var (before, discount, units, use) in planned.Releases)
        {
            var usage = Usage(before.PromotionId)!;
            if (usage.Exists)
            {
                var released = usage.Value.Apply(use ? -1 : 0, -units, -discount, order.Store, order.Channel, order.Day, order.Result.Currency);
                Load(PromotionKeys.Promotion(before.PromotionId), out var record);
                if (record?.Value<PromotionRecord>() is { Status: PromotionStatus.Settled })
                {
                    // The statement stays as written; GET …/settlement shows this as an adjustment, and finance hears of it.
                    var payload = new SettlementAdjusted(before.PromotionId, order.OrderId, order.Store, use ? -1 : 0, -units, -discount);
                    _events.Add((PromotionTopics.SettlementAdjusted, CloudEventJson.Create(PromotionTopics.Source, PromotionTopics.SettlementAdjusted, payload, before.PromotionId)));
                }

                if (released.Exhausted && !BudgetLedger.IsSpent(released, record?.Value<PromotionRecord>().Budget))
                {
                    // Back under its limits: calculate may offer it again.
                    released = released with { Exhausted = false };
                }

                usage.Set(released);
            }

            if (use)
            {
                Load(PromotionKeys.Promotion(before.PromotionId), out var record);
                foreach (var counterKey in new[] { order.Customer is null ? null : PromotionKeys.CustomerUses(before.PromotionId, order.Customer), before.Coupon is null ? null : PromotionKeys.CouponUses(before.PromotionId, before.Coupon) })
                {
                    if (counterKey is not null && Counter(counterKey) is { Exists: true } counter)
                    {
                        var wasAtLimit = record?.Value<PromotionRecord>() is { Budget.PerCouponCode: { } limit } promotion
                            && counterKey == PromotionKeys.CouponUses(before.PromotionId, before.Coupon ?? string.Empty)
                            && counter.Uses >= limit && counter.Uses - 1 < limit && IsStaticCode(promotion, before.Coupon);
                        counter.Set(Math.Max(0, counter.Uses - 1));
                        if (wasAtLimit)
                        {
                            // The static code is usable again.
                            _couponLimitCrossed ??= before.PromotionId;
                        }
                    }
                }
            }
        }

        slot.Set(planned.Updated!);
        return new(LedgerOutcomeKind.Released, planned.Updated);
    }

    /// <summary>Publishes the 80 % / 100 % events the first time the usage reaches them, and marks a spent promotion exhausted.</summary>
    private PromotionUsage Thresholds(PromotionUsage usage, PromotionBudget? budget)
    {
        if (budget is null || (budget.TotalDiscount is null && budget.TotalUses is null))
        {
            return usage;
        }

        var ratio = BudgetLedger.SpentRatio(usage, budget);
        foreach (var (percent, reached) in new[] { (80, usage.Reached80), (100, usage.Reached100) })
        {
            if (!reached && ratio * 100 >= percent)
            {
                var payload = new BudgetThresholdReached(usage.PromotionId, percent, usage.Discount, usage.Orders, budget.TotalDiscount, budget.TotalUses);
                _events.Add((PromotionTopics.BudgetThreshold, CloudEventJson.Create(PromotionTopics.Source, PromotionTopics.BudgetThreshold, payload, usage.PromotionId)));
                usage = percent == 80 ? usage with { Reached80 = true } : usage with { Reached100 = true };
            }
        }

        return !usage.Exhausted && BudgetLedger.IsSpent(usage, budget) ? usage with { Exhausted = true } : usage;
    }

    private static bool IsStaticCode(PromotionRecord? record, string? code) =>
        code is not null && record?.Definition.Coupon?.Codes is { } codes && codes.Contains(code, StringComparer.Ordinal);

    private static bool WouldExceed(Planned planned, PromotionUsage usage, CounterSlot? customer, CounterSlot? coupon)
    {
        var budget = planned.Budget;
        return (budget?.TotalDiscount is { } total && usage.Discount + planned.Discount > total)
            || (budget?.TotalUses is { } uses && usage.Orders + 1 > uses)
            || (budget?.PerCustomer is { } perCustomer && customer is not null && customer.Uses + 1 > perCustomer)
            || (budget?.PerCouponCode is { } perCoupon && coupon is not null && coupon.Uses + 1 > perCoupon);
    }

    internal static OrderRecord Order(CommitWork commit, PricingResult result, IReadOnlyList<Consumption> consumptions) =>
        new(commit.OrderId, OrderStatus.Committed, commit.At, commit.Store, commit.Channel, commit.Day, commit.Customer, result, consumptions) { RequestDigest = commit.RequestDigest };

    /// <summary>What committing <paramref name="result"/> takes from one applied promotion.</summary>
    internal static Consumption Consumed(ActiveView view, CommitWork commit, PromotionOutcome outcome, PricingResult result)
    {
        var planned = Plan(view, outcome, result, commit);
        return new Consumption(planned.PromotionId, planned.Discount, planned.Units, planned.Coupon);
    }

    private Planned Plan(PromotionOutcome outcome, PricingResult result, CommitWork commit) => Plan(view, outcome, result, commit);

    private static Planned Plan(ActiveView view, PromotionOutcome outcome, PricingResult result, CommitWork commit)
    {
        var record = view.Records.GetValueOrDefault(outcome.PromotionId);
        var budget = record?.Budget;
        var units = 0L;
        foreach (var line in result.Lines)
        {
            foreach (var adjustment in line.Adjustments)
            {
                units += adjustment.PromotionId == outcome.PromotionId ? adjustment.Units : 0;
            }
        }

        foreach (var gift in result.Gifts)
        {
            units += gift.PromotionId == outcome.PromotionId ? gift.Quantity : 0;
        }

        // The code that unlocked it, as the engine reports it (a static code as defined, a generated code in its
        // canonical spelling): every spelling of one code counts against the same per-code limit.
        var coupon = outcome.Coupon;
        return new Planned(outcome.PromotionId, budget, outcome.Saving, units, coupon,
            budget?.PerCustomer is not null && commit.Customer is not null ? PromotionKeys.CustomerUses(outcome.PromotionId, commit.Customer) : null,
            budget?.PerCouponCode is not null && coupon is not null && PromotionKeys.IsValidPart(coupon) ? PromotionKeys.CouponUses(outcome.PromotionId, coupon) : null);
    }

    private bool Load(string key, out KnownItem? item)
    {
        if (_loaded.TryGetValue(key, out item))
        {
            return true;
        }

        _missing.Add(key);
        return false;
    }

    private OrderSlot? Order(string key)
    {
        if (!_orders.TryGetValue(key, out var slot))
        {
            if (!Load(key, out var item))
            {
                return null;
            }

            _orders[key] = slot = new OrderSlot(item?.Value<OrderRecord>(), item);
        }

        return slot;
    }

    private UsageSlot? Usage(string promotionId)
    {
        if (!_usage.TryGetValue(promotionId, out var slot))
        {
            if (!Load(PromotionKeys.Usage(promotionId), out var item))
            {
                return null;
            }

            _usage[promotionId] = slot = new UsageSlot(item?.Value<PromotionUsage>() ?? PromotionUsage.Empty(promotionId), item);
        }

        return slot;
    }

    private CounterSlot? Counter(string key)
    {
        if (!_counters.TryGetValue(key, out var slot))
        {
            if (!Load(key, out var item))
            {
                return null;
            }

            _counters[key] = slot = new CounterSlot(item?.Value<UseCount>().Uses ?? 0, item);
        }

        return slot;
    }

    private static void AddIfNotNull(HashSet<string> keys, string? key)
    {
        if (key is not null)
        {
            keys.Add(key);
        }
    }

    /// <summary>Create-only for a key that was absent; otherwise the ETag it was read with (or that the write before this batch gave it).</summary>
    private static StateWriteOptions Expect(KnownItem? source) => source is null
        ? new StateWriteOptions(OnlyIfAbsent: true)
        : new StateWriteOptions(ETag: source.ETag ?? throw new InvalidOperationException($"The write of '{source.Key}' before this batch has not finished."));

    /// <summary>One applied promotion of the order being committed.</summary>
    private sealed record Planned(string PromotionId, PromotionBudget? Budget, decimal Discount, long Units, string? Coupon, string? CustomerKey, string? CouponKey);

    /// <summary>An order record as read (source null = absent) and as this batch leaves it.</summary>
    private sealed class OrderSlot(OrderRecord? value, KnownItem? source)
    {
        public OrderRecord? Value { get; private set; } = value;

        public KnownItem? Source { get; } = source;

        public bool Dirty { get; private set; }

        /// <summary>The value's JSON when it was made before (a prepared commit); null = serialize when writing.</summary>
        public byte[]? Json { get; private set; }

        public void Set(OrderRecord value, byte[]? json = null) => (Value, Json, Dirty) = (value, json, true);
    }

    /// <summary>A promotion's usage record: the running value and what it was read from (null = absent).</summary>
    private sealed class UsageSlot(PromotionUsage value, KnownItem? source)
    {
        public PromotionUsage Value { get; private set; } = value;

        public KnownItem? Source { get; } = source;

        public bool WasExhausted { get; } = value.Exhausted;

        public bool Dirty { get; private set; }

        /// <summary>Stored, or created earlier in this batch (a release only gives back to a record that exists).</summary>
        public bool Exists => Source is not null || Dirty;

        public void Set(PromotionUsage value) => (Value, Dirty) = (value, true);
    }

    /// <summary>A per-customer or per-coupon use count: the running value and what it was read from (null = absent).</summary>
    private sealed class CounterSlot(long uses, KnownItem? source)
    {
        public long Uses { get; private set; } = uses;

        public KnownItem? Source { get; } = source;

        public bool Dirty { get; private set; }

        public bool Exists => Source is not null || Dirty;

        public void Set(long uses) => (Uses, Dirty) = (uses, true);
    }
}
