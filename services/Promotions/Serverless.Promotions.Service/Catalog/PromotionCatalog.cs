using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Ledger;

namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// Promotion definitions and their lifecycle on the state store. Every change is one transaction: the record
/// (ETag-checked), its status index entry, its due-index entries for the lifecycle timer, the catalog version that
/// instances poll, and the events (promotion.changed, plus activated / ended / settled) through the outbox.
/// </summary>
public sealed class PromotionCatalog(IStateStore state, TimeProvider time, ActivePromotions active, PromotionsOptions options)
{
    private const string ActivateAction = "activate";
    private const string EndAction = "end";
    private const string SettleAction = "settle";

    /// <summary>Fixed segments under /api/promotions: a promotion with one of these ids could not be read back.</summary>
    private static readonly HashSet<string> ReservedIds = new(StringComparer.OrdinalIgnoreCase) { "calculate", "snapshot", "orders", "coupons" };

    public async Task<CatalogOutcome> PutAsync(string id, PromotionInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var problems = Validate(id, input);
        if (problems.Count > 0)
        {
            return CatalogOutcome.Invalid(problems);
        }

        var definition = input.Definition! with { Id = id };
        var (startsAt, endsAt) = Window(definition);
        return await ChangeAsync(id, (current, now) =>
        {
            if (current is null)
            {
                var created = new PromotionRecord(id, definition, PromotionStatus.Draft, input.Budget, input.Funding, 1, now, now, startsAt, endsAt);
                return Task.FromResult<Decision>(new(null, new(created, CatalogOutcomeKind.Created, "created")));
            }

            if (!PromotionLifecycle.CanEdit(current.Status))
            {
                return Task.FromResult<Decision>(new(CatalogOutcome.Conflict($"Promotion '{id}' is {current.Status}: it can no longer be changed."), null));
            }

            var updated = current with
            {
                Definition = definition, Budget = input.Budget, Funding = input.Funding, StartsAt = startsAt, EndsAt = endsAt,
                Revision = current.Revision + 1, UpdatedAt = now,
            };
            return current.Budget == input.Budget
                ? Task.FromResult<Decision>(new(null, new(updated, CatalogOutcomeKind.Ok, "updated")))
                : RebudgetAsync(updated, cancellationToken);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A changed budget decides afresh whether the promotion is spent (a raised budget makes an exhausted promotion
    /// available again) and lets the 80 % / 100 % events fire again against the new budget. The usage record is
    /// written with its ETag in the same transaction, so a concurrent commit makes this change decide again.
    /// </summary>
    private async Task<Decision> RebudgetAsync(PromotionRecord updated, CancellationToken cancellationToken)
    {
        var usage = await state.GetJsonAsync<PromotionUsage>(PromotionKeys.Usage(updated.Id), cancellationToken).ConfigureAwait(false);
        if (usage is null)
        {
            return new(null, new(updated, CatalogOutcomeKind.Ok, "updated"));
        }

        var ratio = BudgetLedger.SpentRatio(usage.Value, updated.Budget);
        var spent = BudgetLedger.IsSpent(usage.Value, updated.Budget);
        var rebudgeted = usage.Value with { Reached80 = ratio >= 0.8m, Reached100 = ratio >= 1m, Exhausted = spent };
        return new(null, new(updated, CatalogOutcomeKind.Ok, "updated", tx =>
        {
            tx.UpsertJson(PromotionKeys.Usage(updated.Id), rebudgeted, new StateWriteOptions(ETag: usage.ETag));
            if (spent)
            {
                tx.Upsert(PromotionKeys.Exhausted(updated.Id), "1"u8.ToArray());
            }
            else
            {
                tx.Delete(PromotionKeys.Exhausted(updated.Id));
            }
        }));
    }

    public async Task<PromotionRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        PromotionKeys.IsValidPart(id) ? (await state.GetJsonAsync<PromotionRecord>(PromotionKeys.Promotion(id), cancellationToken).ConfigureAwait(false))?.Value : null;

    /// <summary>One page of promotions, all or those in one status (through the status index), in id order.</summary>
    public async Task<JsonPage<PromotionRecord>> ListAsync(PromotionStatus? status, int limit, string? cursor, CancellationToken cancellationToken = default)
    {
        if (status is not { } s)
        {
            return await state.GetJsonPageAsync<PromotionRecord>(PromotionKeys.PromotionPrefix, limit, cursor, cancellationToken: cancellationToken).ConfigureAwait(false);
        }

        var prefix = PromotionKeys.StatusList(s);
        return await state.GetJsonPageAsync<PromotionRecord>(prefix, limit, cursor, k => PromotionKeys.Promotion(k[prefix.Length..]), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Moves a promotion to <paramref name="target"/>; 409-worthy Conflict when the lifecycle does not allow it.</summary>
    public Task<CatalogOutcome> TransitionAsync(string id, PromotionStatus target, CancellationToken cancellationToken = default) =>
        ChangeAsync(id, async (current, now) =>
        {
            if (current is null)
            {
                return new(CatalogOutcome.NotFound, null);
            }

            if (!PromotionLifecycle.CanMove(current.Status, target))
            {
                var allowed = PromotionLifecycle.Next(current.Status);
                return new(CatalogOutcome.Conflict(
                    $"Promotion '{id}' is {current.Status}; it can move to {(allowed.Count == 0 ? "nothing (final)" : string.Join(", ", allowed))}, not {target}."), null);
            }

            // Scheduling or activating a promotion whose validity is already over would only have the timer end it again.
            if (target is PromotionStatus.Scheduled or PromotionStatus.Active && current.EndsAt is { } endsAt && endsAt <= now)
            {
                return new(CatalogOutcome.Conflict(
                    $"Promotion '{id}' ended its validity at {endsAt:O}; change validity.end before moving it to {target}."), null);
            }

            var updated = current with { Status = target, Revision = current.Revision + 1, UpdatedAt = now };
            Action<StateTransaction>? extra = null;
            switch (target)
            {
                case PromotionStatus.Active:
                    updated = updated with { ActivatedAt = current.ActivatedAt ?? now };
                    break;
                case PromotionStatus.Ended:
                    updated = updated with { EndedAt = now };
                    break;
                case PromotionStatus.Settled:
                    var usage = await state.GetJsonAsync<PromotionUsage>(PromotionKeys.Usage(id), cancellationToken).ConfigureAwait(false);
                    var settlement = PromotionSettlement.From(updated with { SettledAt = now }, usage?.Value, now);
                    updated = updated with { SettledAt = now };
                    extra = tx =>
                    {
                        tx.UpsertJson(PromotionKeys.Settlement(id), settlement);
                        if (usage is not null)
                        {
                            // Rewritten unchanged with its ETag: a return released meanwhile makes this settle again with it, and a
                            // return working on the usage read before settling is run again by the ledger, which then sees Settled.
                            tx.UpsertJson(PromotionKeys.Usage(id), usage.Value, new StateWriteOptions(ETag: usage.ETag));
                        }
                    };
                    break;
            }

            return new(null, new(updated, CatalogOutcomeKind.Ok, target.ToString().ToLowerInvariant(), extra));
        }, cancellationToken);

    /// <summary>Why a promotion has no settlement statement yet, for a 404 that says when there will be one.</summary>
    public string NotSettledYet(PromotionRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var grace = options.SettlementGrace;
        return record.Status switch
        {
            PromotionStatus.Ended when record.EndedAt is { } ended =>
                $"Promotion '{record.Id}' ended at {ended:O}; its settlement is written {grace} after the end, at {ended + grace:O}.",
            PromotionStatus.Settled => $"Promotion '{record.Id}' is settled but has no statement stored.",
            _ => $"Promotion '{record.Id}' is {record.Status}; it is settled {grace} after it ends.",
        };
    }

    /// <summary>The settlement statement with the returns and cancellations the ledger took since it was written (null before settlement).</summary>
    public async Task<PromotionSettlement?> GetSettlementAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!PromotionKeys.IsValidPart(id))
        {
            return null;
        }

        var items = await state.GetBulkAsync([PromotionKeys.Settlement(id), PromotionKeys.Usage(id), PromotionKeys.Promotion(id)], cancellationToken).ConfigureAwait(false);
        if (Json<PromotionSettlement>(items, PromotionKeys.Settlement(id)) is not { } settlement)
        {
            return null;
        }

        return settlement.WithAdjustments(Json<PromotionUsage>(items, PromotionKeys.Usage(id)), Json<PromotionRecord>(items, PromotionKeys.Promotion(id))?.Funding);

        static T? Json<T>(IReadOnlyList<StateItem> items, string key) where T : class =>
            items.FirstOrDefault(i => i.Key == key)?.Deserialize<T>();
    }

    /// <summary>
    /// The lifecycle timer's work: every due-index entry at or before now — activate scheduled promotions at their
    /// start, end active/paused ones at their end, settle ended ones after the grace period. Returns how many it handled.
    /// </summary>
    public async Task<int> RunDueAsync(CancellationToken cancellationToken = default)
    {
        var now = time.GetUtcNow();
        var handled = 0;
        while (true)
        {
            var page = await state.ListKeysAsync(PromotionKeys.DuePrefix, 100, null, cancellationToken).ConfigureAwait(false);
            var due = page.Keys.Select(Parse).TakeWhile(d => d.At <= now).ToList();
            foreach (var (key, _, action, id) in due)
            {
                var target = action switch { ActivateAction => PromotionStatus.Active, EndAction => PromotionStatus.Ended, _ => PromotionStatus.Settled };
                var outcome = await TransitionAsync(id, target, cancellationToken).ConfigureAwait(false);
                if (outcome.Kind is CatalogOutcomeKind.NotFound or CatalogOutcomeKind.Conflict)
                {
                    // Not something the lifecycle allows any more: the entry is stale, not a reason to retry forever.
                    await state.DeleteAsync(key, cancellationToken: cancellationToken).ConfigureAwait(false);
                }

                handled++;
            }

            if (due.Count < page.Keys.Count || page.ContinuationToken is null || due.Count == 0)
            {
                return handled;
            }
        }
    }

    private static (string Key, DateTimeOffset At, string Action, string Id) Parse(string key)
    {
        var parts = key[PromotionKeys.DuePrefix.Length..].Split("||");
        return (key, new DateTimeOffset(long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero), parts[1], parts[2]);
    }

    private IReadOnlyList<string> DueKeysFor(PromotionRecord record, DateTimeOffset now) => record.Status switch
    {
        PromotionStatus.Scheduled => [PromotionKeys.Due(record.StartsAt ?? now, ActivateAction, record.Id)],
        PromotionStatus.Active or PromotionStatus.Paused when record.EndsAt is { } end => [PromotionKeys.Due(end, EndAction, record.Id)],
        PromotionStatus.Ended => [PromotionKeys.Due((record.EndedAt ?? now) + options.SettlementGrace, SettleAction, record.Id)],
        _ => [],
    };

    internal sealed record Write(PromotionRecord Updated, CatalogOutcomeKind Kind, string Change, Action<StateTransaction>? Extra = null);

    internal sealed record Decision(CatalogOutcome? Refused, Write? Write);

    /// <summary>Read, decide, write everything in one transaction with the ETag read; a concurrent change makes it decide again (also used by <see cref="CouponBatches"/>).</summary>
    internal async Task<CatalogOutcome> ChangeAsync(string id, Func<PromotionRecord?, DateTimeOffset, Task<Decision>> decide, CancellationToken cancellationToken)
    {
        if (!PromotionKeys.IsValidPart(id))
        {
            return CatalogOutcome.NotFound;
        }

        var key = PromotionKeys.Promotion(id);
        while (true)
        {
            var current = await state.GetJsonAsync<PromotionRecord>(key, cancellationToken).ConfigureAwait(false);
            var now = time.GetUtcNow();
            var decision = await decide(current?.Value, now).ConfigureAwait(false);
            if (decision.Write is not { } write)
            {
                return decision.Refused!;
            }

            var before = current?.Value;
            var dueKeys = DueKeysFor(write.Updated, now);
            var updated = write.Updated with { DueKeys = dueKeys };
            var tx = new StateTransaction()
                .UpsertJson(key, updated, current is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: current.ETag));
            if (before is not null && before.Status != updated.Status)
            {
                tx.Delete(PromotionKeys.Status(before.Status, id));
            }

            tx.Upsert(PromotionKeys.Status(updated.Status, id), "1"u8.ToArray());
            foreach (var stale in (before?.DueKeys ?? []).Except(dueKeys, StringComparer.Ordinal))
            {
                tx.Delete(stale);
            }

            foreach (var added in dueKeys.Except(before?.DueKeys ?? [], StringComparer.Ordinal))
            {
                tx.Upsert(added, "1"u8.ToArray());
            }

            write.Extra?.Invoke(tx);
            BumpVersion(tx, id, now);
            var payload = new PromotionChanged(id, updated.Status.ToString(), updated.Revision, write.Change);
            tx.Publish(PromotionTopics.Changed, CloudEventJson.Create(PromotionTopics.Source, PromotionTopics.Changed, payload, id));
            if (before?.Status != updated.Status && updated.Status switch
                {
                    PromotionStatus.Active => PromotionTopics.Activated,
                    PromotionStatus.Ended => PromotionTopics.Ended,
                    PromotionStatus.Settled => PromotionTopics.Settled,
                    _ => null,
                } is { } topic)
            {
                tx.Publish(topic, CloudEventJson.Create(PromotionTopics.Source, topic, payload, id));
            }

            try
            {
                await state.TransactAsync(tx, cancellationToken).ConfigureAwait(false);
            }
            catch (ETagMismatchException)
            {
                // The record, or the usage record a budget change rewrites, changed meanwhile: decide again.
                continue;
            }

            active.Invalidate();
            return new CatalogOutcome(write.Kind, updated);
        }
    }

    /// <summary>
    /// Any write of the version key gives it a new ETag (one store-wide sequence): that ETag is the catalog version.
    /// The journal entry tells instances which promotion to re-read, so they need not re-read all of them.
    /// </summary>
    internal static void BumpVersion(StateTransaction tx, string promotionId, DateTimeOffset now) =>
        tx.UpsertJson(PromotionKeys.CatalogVersion, new { promotionId, at = now })
            .Upsert(PromotionKeys.Journal(now, promotionId), "1"u8.ToArray(), new StateWriteOptions(Ttl: ActivePromotions.JournalRetention));

    private static List<ValidationProblem> Validate(string id, PromotionInput input)
    {
        var problems = new List<ValidationProblem>();
        if (!PromotionKeys.IsValidPart(id))
        {
            problems.Add(new("id", "1–128 letters, digits, '.', '_', '-' or ':'"));
        }
        else if (ReservedIds.Contains(id))
        {
            problems.Add(new("id", $"'{id}' is a route of the promotions API, not a promotion id"));
        }

        if (input.Definition is null)
        {
            problems.Add(new("definition", "is required"));
        }
        else
        {
            if (input.Definition.Id is { Length: > 0 } given && !string.Equals(given, id, StringComparison.Ordinal))
            {
                problems.Add(new("definition.id", $"must be the id in the URL ('{id}') or absent"));
            }

            problems.AddRange(PromotionDefinitionValidator.Validate(input.Definition with { Id = id }).Select(p => p with { Path = "definition." + p.Path }));
            problems.AddRange(PromotionDefinitionValidator.ValidateAmounts(input.Definition).Select(p => p with { Path = "definition." + p.Path }));
        }

        if (input.Budget is { } budget)
        {
            if (budget.TotalDiscount < 0)
            {
                problems.Add(new("budget.totalDiscount", "must not be negative"));
            }
            else if (budget.TotalDiscount is { } totalDiscount && input.Definition?.Currency is { } currency
                && Engine.Money.CurrencyTable.TryGetMinorUnits(currency, out var minorUnits)
                && !PromotionDefinitionValidator.FitsMinorUnits(totalDiscount, minorUnits))
            {
                // The budget is in the definition's currency too: a fraction of its minor unit could never be given.
                problems.Add(new("budget.totalDiscount", string.Create(System.Globalization.CultureInfo.InvariantCulture, $"has more decimals than {currency} allows ({minorUnits})")));
            }

            if (budget.TotalUses < 0)
            {
                problems.Add(new("budget.totalUses", "must not be negative"));
            }

            if (budget.PerCustomer < 0)
            {
                problems.Add(new("budget.perCustomer", "must not be negative"));
            }

            if (budget.PerCouponCode < 0)
            {
                problems.Add(new("budget.perCouponCode", "must not be negative"));
            }
        }

        if (input.Funding is { } funding)
        {
            ValidateFunding(funding, problems);
        }

        return problems;
    }

    private static void ValidateFunding(IReadOnlyList<PromotionFunding> funding, List<ValidationProblem> problems)
    {
        var vendors = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var total = 0m;
        for (var i = 0; i < funding.Count; i++)
        {
            var path = $"funding[{i}]";
            if (funding[i] is not { } party)
            {
                problems.Add(new(path, "must be an object {vendor, share}"));
                continue;
            }

            if (string.IsNullOrWhiteSpace(party.Vendor) || party.Vendor.Length > 128)
            {
                problems.Add(new(path + ".vendor", "is required (at most 128 characters)"));
            }
            else if (string.Equals(party.Vendor, PromotionSettlement.Retailer, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add(new(path + ".vendor", $"'{PromotionSettlement.Retailer}' is the party that pays the rest; name the vendors only"));
            }
            else if (!vendors.Add(party.Vendor))
            {
                problems.Add(new(path + ".vendor", $"'{party.Vendor}' is listed twice"));
            }

            if (party.Share is <= 0 or > 1)
            {
                problems.Add(new(path + ".share", "must be more than 0 and at most 1"));
            }
            else if (party.Share * PromotionFunding.ShareScale != decimal.Truncate(party.Share * PromotionFunding.ShareScale))
            {
                problems.Add(new(path + ".share", "has more than 6 decimal places"));
            }
            else
            {
                total += party.Share;
            }
        }

        if (total > 1)
        {
            problems.Add(new("funding", $"the vendors' shares add up to {total}; together they may fund at most 1 (all of the discount)"));
        }
    }

    /// <summary>
    /// The validity's local start/end as the instants at which the engine starts and stops applying the promotion (the
    /// engine's own conversion, so the lifecycle timer and calculate agree at DST edges too), in UTC.
    /// </summary>
    private static (DateTimeOffset? Start, DateTimeOffset? End) Window(PromotionDefinition definition)
    {
        if (definition.Validity is not { } validity)
        {
            return (null, null);
        }

        var (start, end) = validity.Instants();
        return (start?.ToUniversalTime(), end?.ToUniversalTime());
    }
}
