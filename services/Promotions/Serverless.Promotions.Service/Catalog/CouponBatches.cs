using System.Globalization;
using System.Security.Cryptography;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Validation;
using Serverless.Promotions.Service.Ledger;

namespace Serverless.Promotions.Service.Catalog;

/// <summary>A generated coupon batch as its promotion's record keeps it: metadata only, the key is derived when needed.</summary>
public sealed record CouponBatchRecord(string Id, string Prefix, int Count, DateTimeOffset CreatedAt)
{
    public bool Revoked { get; init; }

    public DateTimeOffset? RevokedAt { get; init; }
}

/// <summary>POST body: the codes' prefix (1–12 letters or digits, upper-cased) and how many codes (1–10,000,000).</summary>
public sealed record CouponBatchInput(string? Prefix, long? Count);

/// <summary>What a batch change did: the batch, or the problems (Invalid), or why it was refused (Conflict).</summary>
public sealed record CouponBatchOutcome(CatalogOutcomeKind Kind, CouponBatchRecord? Batch = null, IReadOnlyList<ValidationProblem>? Problems = null, string? Message = null);

/// <summary>
/// Where a code comes from and whether calculate accepts it now: not revoked, the promotion Active and needing a
/// coupon, and — with a per-code limit — not used up (Uses / UsesAllowed only then).
/// </summary>
public sealed record CouponLookup(string Code, string PromotionId, string BatchId, int Serial, bool Valid, bool Revoked, PromotionStatus PromotionStatus, string? Reason, long? Uses, long? UsesAllowed);

/// <summary>
/// Generated coupon batches of a promotion. A batch is kept in its promotion's record and changed through the
/// catalog's one-transaction change (record, journal, catalog version, promotion.changed), so the active snapshot of
/// every instance and the POS export follow within a second like any other change; the same transaction writes a
/// prefix index entry, so a code can be looked up without knowing its promotion.
/// </summary>
public sealed class CouponBatches(PromotionCatalog catalog, IStateStore state, CouponSecret secret)
{
    /// <summary>Batches per promotion: keeps the record (and every recompile) small.</summary>
    public const int MaxBatchesPerPromotion = 100;

    /// <summary>Codes one CSV request may ask for.</summary>
    public const int MaxCodesPerRequest = 1_000_000;

    public async Task<CouponBatchOutcome> CreateAsync(string promotionId, CouponBatchInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var prefix = input.Prefix?.Trim().ToUpperInvariant();
        var problems = new List<ValidationProblem>();
        if (!CouponCodes.IsValidPrefix(prefix))
        {
            problems.Add(new("prefix", $"1–{CouponCodes.MaxPrefixLength} letters A–Z or digits"));
        }

        if (input.Count is not { } count)
        {
            problems.Add(new("count", "is required"));
        }
        else if (count is < 1 or > CouponCodes.MaxCount)
        {
            problems.Add(new("count", string.Create(CultureInfo.InvariantCulture, $"must be between 1 and {CouponCodes.MaxCount:N0}")));
        }

        if (problems.Count > 0)
        {
            return new CouponBatchOutcome(CatalogOutcomeKind.Invalid, Problems: problems);
        }

        var batchId = "b" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5));
        var outcome = await catalog.ChangeAsync(promotionId, (current, now) =>
        {
            if (current is null)
            {
                return Decided(CatalogOutcome.NotFound);
            }

            if (Refusal(current) is { } refused)
            {
                return Decided(refused);
            }

            if (current.Definition.Coupon is null)
            {
                return Decided(CatalogOutcome.Conflict(
                    $"Promotion '{current.Id}' needs no coupon, so generated codes would unlock nothing: add \"coupon\": {{}} (static codes optional) to its definition first."));
            }

            if (current.CouponBatches.Count >= MaxBatchesPerPromotion)
            {
                return Decided(CatalogOutcome.Conflict($"Promotion '{current.Id}' has {MaxBatchesPerPromotion} coupon batches, the most it may have."));
            }

            var batch = new CouponBatchRecord(batchId, prefix!, (int)input.Count!.Value, now);
            var updated = current with { CouponBatches = [.. current.CouponBatches, batch], Revision = current.Revision + 1, UpdatedAt = now };
            return Task.FromResult<PromotionCatalog.Decision>(new(null, new(updated, CatalogOutcomeKind.Created, "coupon-batch-created",
                tx => tx.Upsert(PromotionKeys.CouponBatchIndex(batch.Prefix, current.Id, batch.Id), "1"u8.ToArray()))));
        }, cancellationToken).ConfigureAwait(false);
        return ToBatchOutcome(outcome, batchId);
    }

    /// <summary>Revokes a batch: its codes stop working on every instance within a second (and at the POS with its next export). Revoking twice changes nothing.</summary>
    public async Task<CouponBatchOutcome> RevokeAsync(string promotionId, string batchId, CancellationToken cancellationToken = default)
    {
        var outcome = await catalog.ChangeAsync(promotionId, (current, now) =>
        {
            var batch = current?.CouponBatches.FirstOrDefault(b => b.Id == batchId);
            if (current is null || batch is null)
            {
                return Decided(CatalogOutcome.NotFound);
            }

            if (batch.Revoked)
            {
                return Decided(new CatalogOutcome(CatalogOutcomeKind.Ok, current));
            }

            if (Refusal(current) is { } refused)
            {
                return Decided(refused);
            }

            var revoked = batch with { Revoked = true, RevokedAt = now };
            var updated = current with
            {
                CouponBatches = [.. current.CouponBatches.Select(b => b.Id == batchId ? revoked : b)], Revision = current.Revision + 1, UpdatedAt = now,
            };
            return Task.FromResult<PromotionCatalog.Decision>(new(null, new(updated, CatalogOutcomeKind.Ok, "coupon-batch-revoked")));
        }, cancellationToken).ConfigureAwait(false);
        return ToBatchOutcome(outcome, batchId);
    }

    /// <summary>The promotion's batches, oldest first; null when there is no such promotion.</summary>
    public async Task<IReadOnlyList<CouponBatchRecord>?> ListAsync(string promotionId, CancellationToken cancellationToken = default) =>
        (await catalog.GetAsync(promotionId, cancellationToken).ConfigureAwait(false))?.CouponBatches;

    /// <summary>The batch's codes, made from its key (for printing or mailing); null when there is no such batch.</summary>
    public async Task<CouponBatchCodes?> CodesAsync(string promotionId, string batchId, CancellationToken cancellationToken = default)
    {
        var record = await catalog.GetAsync(promotionId, cancellationToken).ConfigureAwait(false);
        return record?.CouponBatches.FirstOrDefault(b => b.Id == batchId) is { } batch
            ? new CouponBatchCodes(await secret.BatchAsync(record.Id, batch, cancellationToken).ConfigureAwait(false))
            : null;
    }

    /// <summary>Which promotion, batch and serial a code belongs to and whether it works now; null when no batch verifies it.</summary>
    public async Task<CouponLookup?> LookupAsync(string code, CancellationToken cancellationToken = default)
    {
        if (CouponCodes.Normalise(code) is not { } normalised)
        {
            return null;
        }

        var prefix = normalised[..^(CouponCodes.BodyLength + 3)];
        var index = PromotionKeys.CouponPrefixIndex(prefix);
        var candidates = new List<(string PromotionId, string BatchId)>();
        string? cursor = null;
        do
        {
            var page = await state.ListKeysAsync(index, StateKeys.MaxPageSize, cursor, cancellationToken).ConfigureAwait(false);
            candidates.AddRange(page.Keys.Select(k => k[index.Length..].Split("||")).Where(parts => parts.Length == 2).Select(parts => (parts[0], parts[1])));
            cursor = page.ContinuationToken;
        }
        while (cursor is not null);

        if (candidates.Count == 0)
        {
            return null;
        }

        var records = (await state.GetBulkAsync([.. candidates.Select(c => PromotionKeys.Promotion(c.PromotionId)).Distinct(StringComparer.Ordinal)], cancellationToken).ConfigureAwait(false))
            .Select(item => item.Deserialize<PromotionRecord>())
            .ToDictionary(r => r.Id, StringComparer.Ordinal);
        foreach (var (promotionId, batchId) in candidates)
        {
            if (!records.TryGetValue(promotionId, out var record) || record.CouponBatches.FirstOrDefault(b => b.Id == batchId) is not { } batch)
            {
                continue;
            }

            var codes = new CouponBatchCodes(await secret.BatchAsync(promotionId, batch, cancellationToken).ConfigureAwait(false));
            if (codes.TryMatch(normalised, out var serial))
            {
                return await DescribeAsync(normalised, record, batch, serial, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }

    private async Task<CouponLookup> DescribeAsync(string code, PromotionRecord record, CouponBatchRecord batch, int serial, CancellationToken cancellationToken)
    {
        long? uses = null;
        var allowed = record.Budget?.PerCouponCode;
        if (allowed is not null)
        {
            uses = (await state.GetJsonAsync<UseCount>(PromotionKeys.CouponUses(record.Id, code), cancellationToken).ConfigureAwait(false))?.Value.Uses ?? 0;
        }

        var reason = batch.Revoked ? "The batch was revoked."
            : record.Definition.Coupon is null ? "The promotion no longer needs a coupon."
            : record.Status != PromotionStatus.Active ? $"The promotion is {record.Status}, not Active."
            : uses >= allowed ? string.Create(CultureInfo.InvariantCulture, $"Used {uses} of {allowed} time(s) allowed per code.")
            : null;
        return new CouponLookup(code, record.Id, batch.Id, serial, reason is null, batch.Revoked, record.Status, reason, uses, allowed);
    }

    /// <summary>
    /// The coupon batches of these (Active) promotions as the engine compiles them, keys derived: only those of promotions
    /// that need a coupon (a definition changed to need none keeps its batches, which then do nothing) and not revoked.
    /// Reads the coupon secret only when some batch exists.
    /// </summary>
    internal static async Task<IReadOnlyList<CouponBatch>> ForSnapshotAsync(IEnumerable<PromotionRecord> records, CouponSecret secret, CancellationToken cancellationToken)
    {
        var batches = new List<CouponBatch>();
        foreach (var record in records)
        {
            if (record.Definition.Coupon is null)
            {
                continue;
            }

            foreach (var batch in record.CouponBatches)
            {
                if (!batch.Revoked)
                {
                    batches.Add(await secret.BatchAsync(record.Id, batch, cancellationToken).ConfigureAwait(false));
                }
            }
        }

        return batches;
    }

    private static CatalogOutcome? Refusal(PromotionRecord current) => PromotionLifecycle.CanEdit(current.Status)
        ? null
        : CatalogOutcome.Conflict($"Promotion '{current.Id}' is {current.Status}: its coupon batches can no longer change.");

    private static Task<PromotionCatalog.Decision> Decided(CatalogOutcome refused) => Task.FromResult<PromotionCatalog.Decision>(new(refused, null));

    private static CouponBatchOutcome ToBatchOutcome(CatalogOutcome outcome, string batchId) => outcome.Kind switch
    {
        CatalogOutcomeKind.Created or CatalogOutcomeKind.Ok => new(outcome.Kind, outcome.Record!.CouponBatches.First(b => b.Id == batchId)),
        _ => new(outcome.Kind, Problems: outcome.Problems, Message: outcome.Message),
    };
}
