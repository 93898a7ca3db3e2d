using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;

namespace Serverless.Promotions.Engine;

/// <summary>
/// Many promotion definitions compiled once into an immutable, thread-safe evaluator. Promotions are indexed by the
/// sku / category / brand / tag their rewards or conditions require, so a basket only looks at the ones its lines can
/// trigger plus the few that apply to any basket (order-level, shipping, price-range or exclusion-only predicates).
/// The snapshot is its definitions and coupon batches: compile <see cref="Definitions"/> and <see cref="CouponBatches"/>
/// again (e.g. on a POS) for identical results.
/// </summary>
public sealed class PromotionSnapshot
{
    private readonly CompiledPromotion[] _byRank;
    private readonly int[][] _byAttribute;
    private readonly int[] _anyBasket;
    private readonly int[] _idOrderByRank;
    private readonly AttributeIds _attributes = new();

    [ThreadStatic]
    private static List<int>? t_ranks;

    private PromotionSnapshot(IReadOnlyList<PromotionDefinition> definitions, IReadOnlyList<CouponBatch> couponBatches, PricingOptions options)
    {
        Definitions = definitions;
        CouponBatches = couponBatches;
        Options = options;
        var batchesById = couponBatches
            .Where(b => !b.Revoked)
            .GroupBy(b => b.PromotionId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Select(b => new CouponBatchCodes(b)).ToArray(), StringComparer.Ordinal);
        _byRank = [.. definitions
            .OrderBy(d => d.Class)
            .ThenByDescending(d => d.Priority)
            .ThenBy(d => d.Id, StringComparer.Ordinal)
            .Select((d, rank) => new CompiledPromotion(d, rank, _attributes, batchesById.GetValueOrDefault(d.Id)))];
        // The index is by attribute number (see AttributeIds): a line's numbers, looked up once, lead straight to the
        // promotions that mention them.
        var index = new List<int>?[_attributes.Count];
        var anyBasket = new List<int>();
        foreach (var promotion in _byRank)
        {
            if (IndexKeysOf(promotion.Definition) is { } keys)
            {
                foreach (var id in keys.Select(key => _attributes.Find(key.Kind, key.Value)).Distinct())
                {
                    (index[id] ??= []).Add(promotion.Rank);
                }
            }
            else
            {
                anyBasket.Add(promotion.Rank);
            }
        }

        _byAttribute = [.. index.Select(ranks => ranks is null ? [] : ranks.ToArray())];
        _anyBasket = [.. anyBasket];

        // Each rank's position among all ids (ordinal): explanations are sorted by id with integer keys.
        _idOrderByRank = new int[_byRank.Length];
        var byId = Enumerable.Range(0, _byRank.Length).ToArray();
        Array.Sort(byId, (a, b) => string.CompareOrdinal(_byRank[a].Id, _byRank[b].Id));
        for (var i = 0; i < byId.Length; i++)
        {
            _idOrderByRank[byId[i]] = i;
        }
    }

    public IReadOnlyList<PromotionDefinition> Definitions { get; }

    /// <summary>The coupon batches whose codes unlock the promotions that need a coupon (revoked ones included, and ignored).</summary>
    public IReadOnlyList<CouponBatch> CouponBatches { get; }

    public PricingOptions Options { get; }

    /// <summary>Promotions looked at for every basket because no line attribute can rule them out.</summary>
    public int AnyBasketCount => _anyBasket.Length;

    /// <summary>Validates and compiles. Throws <see cref="PromotionDefinitionException"/> listing every problem (paths like <c>promotions[2].rewards[0].tiers[1].threshold</c>).</summary>
    public static PromotionSnapshot Compile(IEnumerable<PromotionDefinition> definitions, PricingOptions? options = null) => Compile(definitions, null, options);

    /// <summary>
    /// Validates and compiles definitions together with the coupon batches of the promotions that need a coupon (a
    /// presented code unlocks a promotion when it is one of its static codes or one of its batches verifies it).
    /// Batch problems have paths like <c>batches[0].prefix</c>.
    /// </summary>
    public static PromotionSnapshot Compile(IEnumerable<PromotionDefinition> definitions, IEnumerable<CouponBatch>? batches, PricingOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        var list = definitions.ToList();
        var problems = new List<ValidationProblem>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            foreach (var problem in PromotionDefinitionValidator.Validate(list[i]))
            {
                problems.Add(problem with { Path = $"promotions[{i}].{problem.Path}" });
            }

            if (list[i].Id is { } id && !ids.Add(id))
            {
                problems.Add(new ValidationProblem($"promotions[{i}].id", $"duplicate id '{id}'"));
            }
        }

        var batchList = batches?.ToList() ?? [];
        ValidateBatches(batchList, list, problems);
        return problems.Count > 0 ? throw new PromotionDefinitionException(problems) : new PromotionSnapshot(list, batchList, options ?? PricingOptions.Default);
    }

    /// <summary>Every batch names a promotion of the snapshot that needs a coupon, with a valid prefix, count and key (the key is never quoted).</summary>
    private static void ValidateBatches(List<CouponBatch> batches, List<PromotionDefinition> definitions, List<ValidationProblem> problems)
    {
        if (batches.Count == 0)
        {
            return;
        }

        var byId = new Dictionary<string, PromotionDefinition>(StringComparer.Ordinal);
        foreach (var definition in definitions)
        {
            if (definition.Id is { } id)
            {
                byId.TryAdd(id, definition);
            }
        }

        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < batches.Count; i++)
        {
            var path = $"batches[{i}]";
            if (batches[i] is not { } batch)
            {
                problems.Add(new ValidationProblem(path, "is required"));
                continue;
            }

            if (string.IsNullOrWhiteSpace(batch.Id))
            {
                problems.Add(new ValidationProblem($"{path}.id", "is required"));
            }
            else if (batch.PromotionId is { } promotionId && !seen.Add((promotionId, batch.Id)))
            {
                problems.Add(new ValidationProblem($"{path}.id", $"duplicate batch '{batch.Id}' of promotion '{promotionId}'"));
            }

            if (batch.PromotionId is null || !byId.TryGetValue(batch.PromotionId, out var owner))
            {
                problems.Add(new ValidationProblem($"{path}.promotionId", $"no promotion '{batch.PromotionId}' in this snapshot"));
            }
            else if (owner.Coupon is null)
            {
                problems.Add(new ValidationProblem($"{path}.promotionId", $"promotion '{batch.PromotionId}' needs no coupon, so its codes would unlock nothing"));
            }

            if (!CouponCodes.IsValidPrefix(batch.Prefix))
            {
                problems.Add(new ValidationProblem($"{path}.prefix", $"1–{CouponCodes.MaxPrefixLength} upper-case letters or digits"));
            }

            if (batch.Count is < 1 or > CouponCodes.MaxCount)
            {
                problems.Add(new ValidationProblem($"{path}.count", $"must be between 1 and {CouponCodes.MaxCount}"));
            }

            if (CouponBatchCodes.TryDecodeKey(batch.Key) is null)
            {
                problems.Add(new ValidationProblem($"{path}.key", $"must be base64 of at least {CouponCodes.MinKeyBytes} bytes"));
            }
        }
    }

    public string ToJson() => PromotionJson.Serialize(Definitions);

    public static PromotionSnapshot FromJson(string json, PricingOptions? options = null) => Compile(PromotionJson.Deserialize(json), options);

    /// <summary>
    /// Prices <paramref name="basket"/> at <see cref="PricingContext.At"/>. Throws <see cref="BasketValidationException"/>
    /// when <see cref="BasketValidator.Validate"/> finds problems (callers that want the list call it first).
    /// </summary>
    public PricingResult Calculate(Basket basket, PricingContext context)
    {
        ArgumentNullException.ThrowIfNull(basket);
        ArgumentNullException.ThrowIfNull(context);
        var problems = BasketValidator.Validate(basket);
        if (problems.Count > 0)
        {
            throw new BasketValidationException(problems);
        }

        var mode = Options.RoundingByCurrency.TryGetValue(basket.Currency, out var byCurrency) ? byCurrency : Options.Rounding;
        var rounding = new MoneyRounding(CurrencyTable.MinorUnits(basket.Currency), mode);

        var scratch = CalculationScratch.Begin(basket.Lines.Count);
        var facts = scratch.Facts(basket, _attributes);
        var clock = new LocalClock(context.At);
        var ranks = RelevantRanks(facts, basket.Lines.Count);
        var outcomes = scratch.Rejected;
        var rejectedRanks = scratch.RejectedRanks;
        var candidates = scratch.CandidateList;
        foreach (var rank in ranks)
        {
            var outcome = EligibilityGate.Check(_byRank[rank], basket, facts, context, clock, rounding, out var candidate, scratch);
            if (candidate is not null)
            {
                candidates.Add(candidate);
            }
            else
            {
                outcomes.Add(outcome!);
                rejectedRanks.Add(rank);
            }
        }

        var subtotal = 0m;
        foreach (var line in basket.Lines)
        {
            subtotal += line.UnitPrice * line.Quantity;
        }

        var cap = OrderCap(subtotal, rounding);
        var state = PricingState.Rent(basket, facts, context, rounding, cap, candidates.Count);
        var (chosen, search) = BestDealSearch.Choose(candidates, state, Options, basket.Lines.Count, cap is not null);
        state.Recording = true;
        state.Evaluate(candidates, chosen);
        return PricingResultBuilder.Build(basket, rounding, subtotal, candidates, chosen, state, outcomes, search, rejectedRanks, _idOrderByRank);
    }

    private decimal? OrderCap(decimal subtotal, MoneyRounding rounding)
    {
        decimal? cap = Options.MaxOrderDiscount;
        if (Options.MaxOrderDiscountPercent is { } percent)
        {
            var byPercent = rounding.Floor(subtotal * percent / 100m);
            cap = cap is { } amount ? Math.Min(amount, byPercent) : byPercent;
        }

        return cap;
    }

    /// <summary>Ranks of the promotions this basket can trigger, ascending (= application order), without duplicates.</summary>
    private List<int> RelevantRanks(LineFacts[] facts, int lineCount)
    {
        // Scratch reused by the calculations on this thread (the list is consumed before Calculate returns).
        var ranks = t_ranks ??= new List<int>(256);
        ranks.Clear();
        ranks.AddRange(_anyBasket);
        for (var i = 0; i < lineCount; i++)
        {
            var line = facts[i];
            Add(ranks, line.Sku);
            Add(ranks, line.Brand);
            foreach (var category in line.Categories)
            {
                Add(ranks, category);
            }

            foreach (var tag in line.Tags)
            {
                Add(ranks, tag);
            }
        }

        ranks.Sort();
        var write = 0;
        for (var read = 0; read < ranks.Count; read++)
        {
            if (write == 0 || ranks[read] != ranks[write - 1])
            {
                ranks[write++] = ranks[read];
            }
        }

        ranks.RemoveRange(write, ranks.Count - write);
        return ranks;
    }

    private void Add(List<int> ranks, int attribute)
    {
        if (attribute >= 0)
        {
            ranks.AddRange(_byAttribute[attribute]);
        }
    }

    /// <summary>
    /// A promotion needs a line matching every condition's item predicate and some reward's target, so one indexable
    /// condition predicate is enough; otherwise every reward must be indexable (the union of their keys).
    /// </summary>
    private static List<IndexKey>? IndexKeysOf(PromotionDefinition definition)
    {
        foreach (var condition in definition.Conditions)
        {
            var items = condition switch
            {
                Condition.MinimumQuantity { Quantity: > 0 } q => q.Items,
                Condition.MinimumSpend { Amount: > 0 } s => s.Items,
                _ => null,
            };
            if (IndexKey.For(items) is { } keys)
            {
                return keys;
            }
        }

        var union = new List<IndexKey>();
        foreach (var reward in definition.Rewards)
        {
            var keys = reward switch
            {
                Reward.PercentOffItems r => IndexKey.For(r.Items),
                Reward.AmountOffItems r => IndexKey.For(r.Items),
                Reward.FixedPricePerItem r => IndexKey.For(r.Items),
                Reward.BuyXGetY r => IndexKey.For(r.Buy),
                Reward.BundlePrice r => IndexKey.For(r.Items),
                Reward.NthItemDiscount r => IndexKey.For(r.Items),
                Reward.MemberPrice r => [.. r.Prices.Select(p => new IndexKey(IndexKind.Sku, p.Sku))],
                Reward.PercentOffOrder r => IndexKey.For(r.Items),
                Reward.AmountOffOrder r => IndexKey.For(r.Items),
                Reward.SpendTiers r => IndexKey.For(r.Items),
                Reward.SpendEvery r => IndexKey.For(r.Items),
                _ => null,
            };
            if (keys is null)
            {
                return null;
            }

            union.AddRange(keys);
        }

        return union.Count > 0 ? union : null;
    }
}
