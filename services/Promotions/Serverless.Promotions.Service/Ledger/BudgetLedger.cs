using System.Globalization;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Service.Ledger;

public enum LedgerOutcomeKind
{
    Committed,
    AlreadyCommitted,
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

/// <summary>
/// Budgets and usage limits. A commit prices the order with the active snapshot, then consumes every applied promotion's
/// budget in ONE transaction: the usage counters ETag-checked (a concurrent commit makes it read and price again), the
/// per-customer / per-coupon counters likewise, the order record create-only (the order id is the idempotency key).
/// A limit that would be exceeded marks that promotion exhausted for a recalculation; unless the caller accepts the
/// recalculated basket, nothing is written and the recalculated basket is returned (409).
/// </summary>
public sealed class BudgetLedger(IStateStore state, TimeProvider time, ActivePromotions active)
{
    private long _contended;

    /// <summary>Commits that had to price again because another order changed the same counters first (for monitoring and benchmarks).</summary>
    public long ContendedCommits => Interlocked.Read(ref _contended);

    public async Task<LedgerOutcome> CommitAsync(OrderCommit commit, CancellationToken cancellationToken = default)
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
            return LedgerOutcome.Invalid(problems);
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
            return LedgerOutcome.Invalid(problems);
        }

        var orderKey = PromotionKeys.Order(commit.OrderId!);
        var store = context!.StoreId ?? "-";
        var channel = context.Channel.ToString().ToLowerInvariant();
        var day = now.UtcDateTime.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        for (var attempt = 1; ; attempt++)
        {
            if (await state.GetJsonAsync<OrderRecord>(orderKey, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new(LedgerOutcomeKind.AlreadyCommitted, existing.Value);
            }

            var view = active.Current;
            var exhausted = new HashSet<string>(view.Exhausted, StringComparer.Ordinal);
            var excluded = new List<string>();
            PricingResult result;
            List<Planned> plan;
            while (true)
            {
                result = view.Snapshot.Calculate(basket!, context with { ExhaustedPromotionIds = exhausted });
                plan = result.Promotions.Where(p => p.Applied).Select(p => Plan(p, result, view, context.Coupons, customer)).ToList();
                var read = await ReadCountersAsync(plan, cancellationToken).ConfigureAwait(false);
                foreach (var planned in plan)
                {
                    planned.Read(read);
                }

                var over = plan.Where(p => p.WouldExceed()).Select(p => p.PromotionId).ToList();
                if (over.Count == 0)
                {
                    break;
                }

                exhausted.UnionWith(over);
                excluded.AddRange(over);
            }

            if (excluded.Count > 0 && !commit.AcceptRecalculated)
            {
                return new(LedgerOutcomeKind.LimitReached, Recalculated: result, Exhausted: excluded);
            }

            var order = new OrderRecord(commit.OrderId!, OrderStatus.Committed, now, store, channel, day, customer, result,
                [.. plan.Select(p => new Consumption(p.PromotionId, p.Discount, p.Units, p.Coupon))]);
            var tx = new StateTransaction().UpsertJson(orderKey, order, new StateWriteOptions(OnlyIfAbsent: true));
            var versionMoved = false;
            foreach (var planned in plan)
            {
                var usage = planned.Usage.Apply(1, planned.Units, planned.Discount, store, channel, day, basket!.Currency);
                usage = Thresholds(usage, planned.Budget, tx, ref versionMoved);
                tx.UpsertJson(PromotionKeys.Usage(planned.PromotionId), usage, Expect(planned.UsageETag));
                if (planned.CustomerKey is { } customerKey)
                {
                    tx.UpsertJson(customerKey, new UseCount(planned.CustomerUses + 1), Expect(planned.CustomerETag));
                }

                if (planned.CouponKey is { } couponKey)
                {
                    tx.UpsertJson(couponKey, new UseCount(planned.CouponUses + 1), Expect(planned.CouponETag));
                }
            }

            if (versionMoved)
            {
                PromotionCatalog.BumpVersion(tx, plan[0].PromotionId, now);
            }

            try
            {
                await state.TransactAsync(tx, cancellationToken).ConfigureAwait(false);
                if (versionMoved)
                {
                    active.Invalidate();
                }

                return new(LedgerOutcomeKind.Committed, order, Exhausted: excluded);
            }
            catch (ETagMismatchException ex) when (ex.Key == orderKey)
            {
                // The same order id committed concurrently: the next round finds and returns it.
            }
            catch (ETagMismatchException)
            {
                Interlocked.Increment(ref _contended);

                // Another order took from the same counters first: price again against the new counts. The jitter
                // spreads out the retries of many orders contending for one hot promotion.
                await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 20)), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Cancels an order (no lines: gives back everything it consumed, including the use) or applies a partial return
    /// (lines: gives back each returned line's share of each promotion's discount; the use comes back when every unit
    /// has been returned). Idempotent: a cancelled order, or a return id seen before, changes nothing.
    /// </summary>
    public async Task<LedgerOutcome> ReleaseAsync(string orderId, OrderReturn? request, CancellationToken cancellationToken = default)
    {
        if (!PromotionKeys.IsValidPart(orderId))
        {
            return new(LedgerOutcomeKind.NotFound);
        }

        var partial = request?.Lines is { Count: > 0 };
        if (partial && !PromotionKeys.IsValidPart(request!.ReturnId))
        {
            return LedgerOutcome.Invalid([new("returnId", "is required for a partial return (1–128 letters, digits, '.', '_', '-' or ':')")]);
        }

        var orderKey = PromotionKeys.Order(orderId);
        for (var attempt = 1; ; attempt++)
        {
            var versioned = await state.GetJsonAsync<OrderRecord>(orderKey, cancellationToken).ConfigureAwait(false);
            if (versioned is null)
            {
                return new(LedgerOutcomeKind.NotFound);
            }

            var order = versioned.Value;
            if (order.Status == OrderStatus.Cancelled || (partial && order.Returns.Contains(request!.ReturnId!, StringComparer.Ordinal)))
            {
                return new(LedgerOutcomeKind.Released, order);
            }

            var minorUnits = CurrencyTable.MinorUnits(order.Result.Currency);
            var returned = new Dictionary<string, int>(order.Returned, StringComparer.Ordinal);
            var release = order.Consumptions.ToDictionary(c => c.PromotionId, _ => (Discount: 0m, Units: 0L), StringComparer.Ordinal);
            if (partial)
            {
                var problems = new List<ValidationProblem>();
                for (var i = 0; i < request!.Lines!.Count; i++)
                {
                    var back = request.Lines[i];
                    var line = order.Result.Lines.FirstOrDefault(l => l.LineId == back.LineId);
                    var already = returned.GetValueOrDefault(back.LineId ?? string.Empty);
                    if (line is null)
                    {
                        problems.Add(new($"lines[{i}].lineId", $"the order has no line '{back.LineId}'"));
                    }
                    else if (back.Quantity <= 0 || already + back.Quantity > line.Quantity)
                    {
                        problems.Add(new($"lines[{i}].quantity", $"must be between 1 and {line.Quantity - already} (the units not yet returned)"));
                    }
                    else
                    {
                        returned[line.LineId] = already + back.Quantity;
                        foreach (var adjustment in line.Adjustments.Where(a => release.ContainsKey(a.PromotionId)))
                        {
                            var (discount, units) = release[adjustment.PromotionId];
                            release[adjustment.PromotionId] = (
                                discount + decimal.Round(adjustment.Amount * back.Quantity / line.Quantity, minorUnits, MidpointRounding.ToEven),
                                units + (adjustment.Units * back.Quantity / line.Quantity));
                        }
                    }
                }

                if (problems.Count > 0)
                {
                    return LedgerOutcome.Invalid(problems);
                }
            }

            var everything = !partial || order.Result.Lines.All(l => returned.GetValueOrDefault(l.LineId) >= l.Quantity);
            var consumptions = order.Consumptions.Select(c =>
            {
                var (discount, units) = everything
                    ? (c.Discount - c.ReleasedDiscount, c.Units - c.ReleasedUnits)
                    : (Math.Min(release[c.PromotionId].Discount, c.Discount - c.ReleasedDiscount), Math.Min(release[c.PromotionId].Units, c.Units - c.ReleasedUnits));
                return (Before: c, Discount: discount, Units: units, Use: everything && !c.UseReleased);
            }).ToList();

            var updated = order with
            {
                Status = everything ? OrderStatus.Cancelled : OrderStatus.Committed,
                CancelledAt = everything ? time.GetUtcNow() : null,
                Returned = returned,
                Returns = partial ? [.. order.Returns, request!.ReturnId!] : order.Returns,
                Consumptions = [.. consumptions.Select(c => c.Before with
                {
                    ReleasedDiscount = c.Before.ReleasedDiscount + c.Discount,
                    ReleasedUnits = c.Before.ReleasedUnits + c.Units,
                    UseReleased = c.Before.UseReleased || c.Use,
                })],
            };

            var keys = consumptions.SelectMany(c => new[] { PromotionKeys.Usage(c.Before.PromotionId), PromotionKeys.Promotion(c.Before.PromotionId) }).ToList();
            if (order.Customer is { } customer)
            {
                keys.AddRange(consumptions.Where(c => c.Use).Select(c => PromotionKeys.CustomerUses(c.Before.PromotionId, customer)));
            }

            keys.AddRange(consumptions.Where(c => c.Use && c.Before.Coupon is not null).Select(c => PromotionKeys.CouponUses(c.Before.PromotionId, c.Before.Coupon!)));
            var read = (await state.GetBulkAsync(keys, cancellationToken).ConfigureAwait(false)).ToDictionary(i => i.Key, StringComparer.Ordinal);
            var tx = new StateTransaction().UpsertJson(orderKey, updated, new StateWriteOptions(ETag: versioned.ETag));
            var versionMoved = false;
            foreach (var (before, discount, units, use) in consumptions)
            {
                if (read.TryGetValue(PromotionKeys.Usage(before.PromotionId), out var usageItem))
                {
                    var usage = usageItem.Deserialize<PromotionUsage>().Apply(use ? -1 : 0, -units, -discount, order.Store, order.Channel, order.Day, order.Result.Currency);
                    var budget = read.TryGetValue(PromotionKeys.Promotion(before.PromotionId), out var record) ? record.Deserialize<PromotionRecord>().Budget : null;
                    if (usage.Exhausted && !IsSpent(usage, budget))
                    {
                        // Back under its limits: calculate may offer it again.
                        usage = usage with { Exhausted = false };
                        tx.Delete(PromotionKeys.Exhausted(before.PromotionId));
                        versionMoved = true;
                    }

                    tx.UpsertJson(usageItem.Key, usage, new StateWriteOptions(ETag: usageItem.ETag));
                }

                if (use)
                {
                    foreach (var counterKey in new[] { order.Customer is null ? null : PromotionKeys.CustomerUses(before.PromotionId, order.Customer), before.Coupon is null ? null : PromotionKeys.CouponUses(before.PromotionId, before.Coupon) })
                    {
                        if (counterKey is not null && read.TryGetValue(counterKey, out var counter))
                        {
                            tx.UpsertJson(counterKey, new UseCount(Math.Max(0, counter.Deserialize<UseCount>().Uses - 1)), new StateWriteOptions(ETag: counter.ETag));
                        }
                    }
                }
            }

            if (versionMoved)
            {
                PromotionCatalog.BumpVersion(tx, consumptions[0].Before.PromotionId, time.GetUtcNow());
            }

            try
            {
                await state.TransactAsync(tx, cancellationToken).ConfigureAwait(false);
                if (versionMoved)
                {
                    active.Invalidate();
                }

                return new(LedgerOutcomeKind.Released, updated);
            }
            catch (ETagMismatchException)
            {
                await Task.Delay(Random.Shared.Next(0, Math.Min(attempt, 20)), cancellationToken).ConfigureAwait(false);
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

    private static StateWriteOptions Expect(string? etag) => etag is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: etag);

    internal static bool IsSpent(PromotionUsage usage, PromotionBudget? budget) =>
        (budget?.TotalDiscount is { } total && usage.Discount >= total) || (budget?.TotalUses is { } uses && usage.Orders >= uses);

    /// <summary>The larger of discount given / total discount and orders / total uses (0 without a budget).</summary>
    internal static decimal SpentRatio(PromotionUsage usage, PromotionBudget? budget) => Math.Max(
        budget?.TotalDiscount is { } total ? (total == 0 ? 1m : usage.Discount / total) : 0m,
        budget?.TotalUses is { } uses ? (uses == 0 ? 1m : (decimal)usage.Orders / uses) : 0m);

    /// <summary>Publishes the 80 % / 100 % events the first time the usage reaches them, and marks a spent promotion exhausted for calculate.</summary>
    private static PromotionUsage Thresholds(PromotionUsage usage, PromotionBudget? budget, StateTransaction tx, ref bool versionMoved)
    {
        if (budget is null || (budget.TotalDiscount is null && budget.TotalUses is null))
        {
            return usage;
        }

        var ratio = SpentRatio(usage, budget);
        foreach (var (percent, reached) in new[] { (80, usage.Reached80), (100, usage.Reached100) })
        {
            if (!reached && ratio * 100 >= percent)
            {
                var payload = new BudgetThresholdReached(usage.PromotionId, percent, usage.Discount, usage.Orders, budget.TotalDiscount, budget.TotalUses);
                tx.Publish(PromotionTopics.BudgetThreshold, CloudEventJson.Create(PromotionTopics.Source, PromotionTopics.BudgetThreshold, payload, usage.PromotionId));
                usage = percent == 80 ? usage with { Reached80 = true } : usage with { Reached100 = true };
            }
        }

        if (!usage.Exhausted && IsSpent(usage, budget))
        {
            usage = usage with { Exhausted = true };
            tx.Upsert(PromotionKeys.Exhausted(usage.PromotionId), "1"u8.ToArray());
            versionMoved = true;
        }

        return usage;
    }

    private async Task<Dictionary<string, StateItem>> ReadCountersAsync(List<Planned> plan, CancellationToken cancellationToken)
    {
        var keys = plan.SelectMany(p => new[] { PromotionKeys.Usage(p.PromotionId), p.CustomerKey, p.CouponKey }).OfType<string>().ToList();
        return keys.Count == 0 ? [] : (await state.GetBulkAsync(keys, cancellationToken).ConfigureAwait(false)).ToDictionary(i => i.Key, StringComparer.Ordinal);
    }

    private static Planned Plan(PromotionOutcome outcome, PricingResult result, ActiveView view, IReadOnlyList<string> coupons, string? customer)
    {
        var record = view.Records.GetValueOrDefault(outcome.PromotionId);
        var budget = record?.Budget;
        var units = result.Lines.Sum(l => l.Adjustments.Where(a => a.PromotionId == outcome.PromotionId).Sum(a => (long)a.Units))
            + result.Gifts.Where(g => g.PromotionId == outcome.PromotionId).Sum(g => (long)g.Quantity);
        var coupon = record?.Definition.Coupon?.Codes.FirstOrDefault(code => coupons.Contains(code, StringComparer.Ordinal));
        return new Planned(outcome.PromotionId, budget, outcome.Saving, units, coupon)
        {
            CustomerKey = budget?.PerCustomer is not null && customer is not null ? PromotionKeys.CustomerUses(outcome.PromotionId, customer) : null,
            CouponKey = budget?.PerCouponCode is not null && coupon is not null && PromotionKeys.IsValidPart(coupon) ? PromotionKeys.CouponUses(outcome.PromotionId, coupon) : null,
        };
    }

    /// <summary>One applied promotion of the order being committed, with the counters read for it.</summary>
    private sealed record Planned(string PromotionId, PromotionBudget? Budget, decimal Discount, long Units, string? Coupon)
    {
        public string? CustomerKey { get; init; }

        public string? CouponKey { get; init; }

        public PromotionUsage Usage { get; private set; } = PromotionUsage.Empty(PromotionId);

        public string? UsageETag { get; private set; }

        public long CustomerUses { get; private set; }

        public string? CustomerETag { get; private set; }

        public long CouponUses { get; private set; }

        public string? CouponETag { get; private set; }

        public void Read(Dictionary<string, StateItem> read)
        {
            if (read.TryGetValue(PromotionKeys.Usage(PromotionId), out var usage))
            {
                (Usage, UsageETag) = (usage.Deserialize<PromotionUsage>(), usage.ETag);
            }

            if (CustomerKey is not null && read.TryGetValue(CustomerKey, out var byCustomer))
            {
                (CustomerUses, CustomerETag) = (byCustomer.Deserialize<UseCount>().Uses, byCustomer.ETag);
            }

            if (CouponKey is not null && read.TryGetValue(CouponKey, out var byCoupon))
            {
                (CouponUses, CouponETag) = (byCoupon.Deserialize<UseCount>().Uses, byCoupon.ETag);
            }
        }

        public bool WouldExceed() =>
            (Budget?.TotalDiscount is { } total && Usage.Discount + Discount > total)
            || (Budget?.TotalUses is { } uses && Usage.Orders + 1 > uses)
            || (Budget?.PerCustomer is { } perCustomer && CustomerKey is not null && CustomerUses + 1 > perCustomer)
            || (Budget?.PerCouponCode is { } perCoupon && CouponKey is not null && CouponUses + 1 > perCoupon);
    }
}
