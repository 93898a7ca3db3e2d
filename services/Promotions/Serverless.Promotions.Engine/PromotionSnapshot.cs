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
    /// <summary>The ranks filed under attribute a are <c>_indexRanks[_indexStart[a] .. _indexStart[a + 1]]</c>, ascending.</summary>
    private readonly int[] _indexStart;
    private readonly int[] _indexRanks;
    private readonly int[] _anyBasket;
    private readonly int[] _idOrderByRank;
    private readonly AttributeIds _attributes;

    /// <summary>The compiled promotion of each of <see cref="Definitions"/>, by position.</summary>
    private readonly CompiledPromotion[] _byDefinition;

    /// <summary><see cref="Definitions"/> are in ascending ordinal id order (as the service keeps them).</summary>
    private readonly bool _idsAscending;

    [ThreadStatic]
    private static List<int>? t_ranks;

    /// <summary>
    /// Compiles <paramref name="definitions"/> (validated by the caller; <paramref name="idOrder"/> from <see cref="IdOrder"/>).
    /// Where <paramref name="reusable"/> holds the previous snapshot's compiled promotion of the same definition object,
    /// it is taken over (unless its coupon batches changed) instead of being compiled again.
    /// </summary>
    private PromotionSnapshot(
        List<PromotionDefinition> definitions, List<CouponBatch> couponBatches, PricingOptions options, int[] idOrder, bool idsAscending, AttributeIds? previousAttributes, CompiledPromotion?[]? reusable)
    {
        Definitions = definitions;
        CouponBatches = couponBatches;
        Options = options;
        _attributes = previousAttributes?.Copy() ?? new AttributeIds();
        var batchesById = couponBatches
            .Where(b => !b.Revoked)
            .GroupBy(b => b.PromotionId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);

        // Application order: class, then priority descending, then id ordinal. Each id's ordinal position is found once
        // (explanations are sorted by it too), so the sort compares integers.
        _idsAscending = idsAscending;
        var keys = new RankKey[definitions.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = new RankKey((int)definitions[i].Class, definitions[i].Priority, idOrder[i], i);
        }

        Array.Sort(keys);
        _byRank = new CompiledPromotion[keys.Length];
        _idOrderByRank = new int[keys.Length];
        _byDefinition = new CompiledPromotion[keys.Length];
        var takenOver = 0;
        for (var rank = 0; rank < keys.Length; rank++)
        {
            var index = keys[rank].Index;
            var definition = definitions[index];
            var batches = batchesById.Count == 0 ? null : batchesById.GetValueOrDefault(definition.Id);
            _idOrderByRank[rank] = keys[rank].IdOrder;
            if (reusable?[index] is { } compiled && compiled.HasBatches(batches))
            {
                takenOver++;
                _byRank[rank] = compiled;
            }
            else
            {
                _byRank[rank] = new CompiledPromotion(definition, _attributes, batches?.Select(b => new CouponBatchCodes(b)).ToArray());
            }

            _byDefinition[index] = _byRank[rank];
        }

        TakenOver = takenOver;
        if (previousAttributes is null)
        {
            _attributes.EndFullCompile();
        }

        // The index is by attribute number (see AttributeIds): a line's numbers, looked up once, lead straight to the
        // promotions that mention them. One array of ranks, grouped by attribute: counted first, then filled in rank
        // order (two arrays however many attributes there are).
        _indexStart = new int[_attributes.Count + 1];
        var anyBasket = 0;
        foreach (var promotion in _byRank)
        {
            if (promotion.IndexAttributes is { } attributes)
            {
                foreach (var id in attributes)
                {
                    _indexStart[id + 1]++;
                }
            }
            else
            {
                anyBasket++;
            }
        }

        for (var id = 0; id < _attributes.Count; id++)
        {
            _indexStart[id + 1] += _indexStart[id];
        }

        _indexRanks = new int[_indexStart[^1]];
        var next = _indexStart[..^1];
        _anyBasket = new int[anyBasket];
        anyBasket = 0;
        for (var rank = 0; rank < _byRank.Length; rank++)
        {
            if (_byRank[rank].IndexAttributes is { } attributes)
            {
                foreach (var id in attributes)
                {
                    _indexRanks[next[id]++] = rank;
                }
            }
            else
            {
                _anyBasket[anyBasket++] = rank;
            }
        }
    }

    /// <summary>
    /// Each definition's position in ordinal id order (ids are unique once validated). Callers usually pass them in
    /// that order already (<paramref name="ascending"/>: strictly, so without duplicates).
    /// </summary>
    private static int[] IdOrder(List<PromotionDefinition> definitions, out bool ascending)
    {
        var order = new int[definitions.Count];
        var sorted = true;
        for (var i = 1; i < definitions.Count && sorted; i++)
        {
            sorted = string.CompareOrdinal(definitions[i - 1].Id, definitions[i].Id) < 0;
        }

        ascending = sorted;
        if (sorted)
        {
            for (var i = 0; i < order.Length; i++)
            {
                order[i] = i;
            }

            return order;
        }

        var ids = new string[definitions.Count];
        var positions = new int[definitions.Count];
        for (var i = 0; i < ids.Length; i++)
        {
            ids[i] = definitions[i].Id;
            positions[i] = i;
        }

        Array.Sort(ids, positions, StringComparer.Ordinal);
        for (var k = 0; k < positions.Length; k++)
        {
            order[positions[k]] = k;
        }

        return order;
    }

    /// <summary>A definition's place in application order; <see cref="IdOrder"/> breaks ties (ids are unique, so there are none left).</summary>
    private readonly record struct RankKey(int Class, int Priority, int IdOrder, int Index) : IComparable<RankKey>
    {
        public int CompareTo(RankKey other) =>
            Class != other.Class ? Class.CompareTo(other.Class)
            : Priority != other.Priority ? other.Priority.CompareTo(Priority)
            : IdOrder.CompareTo(other.IdOrder);
    }

    public IReadOnlyList<PromotionDefinition> Definitions { get; }

    /// <summary>The coupon batches whose codes unlock the promotions that need a coupon (revoked ones included, and ignored).</summary>
    public IReadOnlyList<CouponBatch> CouponBatches { get; }

    public PricingOptions Options { get; }

    /// <summary>How many compiled promotions <see cref="Recompile"/> took over from the previous snapshot.</summary>
    internal int TakenOver { get; }

    /// <summary>Values (skus, categories, brands, tags) the attribute table numbers.</summary>
    internal int AttributeCount => _attributes.Count;

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
        return Compile([.. definitions], [.. batches ?? []], options ?? PricingOptions.Default, previous: null);
    }

    /// <summary>
    /// The snapshot of <paramref name="definitions"/> and <paramref name="batches"/> under this snapshot's options,
    /// compiled after a change: a definition that is the same object as one this snapshot holds (with the same coupon
    /// batches) is neither validated nor compiled again, so a change costs about what the changed promotions cost, plus
    /// re-sorting and re-indexing all of them. Prices exactly as <see cref="Compile(IEnumerable{PromotionDefinition}, IEnumerable{CouponBatch}?, PricingOptions?)"/>
    /// would. Returns this snapshot when nothing changed. Values that changed promotions no longer mention stay in the
    /// attribute table until it has grown by a quarter (at least 1,024) since the last full compile, and then everything
    /// is compiled afresh (values new promotions do use count towards that too, so a catalogue that grows by that much
    /// is compiled in full once).
    /// </summary>
    public PromotionSnapshot Recompile(IEnumerable<PromotionDefinition> definitions, IEnumerable<CouponBatch>? batches = null)
    {
        ArgumentNullException.ThrowIfNull(definitions);
        List<PromotionDefinition> list = [.. definitions];
        List<CouponBatch> batchList = [.. batches ?? []];
        if (list.Count == Definitions.Count && list.SequenceEqual(Definitions, ReferenceEqualityComparer.Instance)
            && batchList.SequenceEqual(CouponBatches))
        {
            return this;
        }

        var grown = _attributes.Count - _attributes.FromFullCompile;
        return Compile(list, batchList, Options, grown > Math.Max(1024, _attributes.FromFullCompile / 4) ? null : this);
    }

    /// <summary>Validates and compiles; the snapshot keeps <paramref name="list"/> and <paramref name="batchList"/> (callers pass copies of their own).</summary>
    private static PromotionSnapshot Compile(List<PromotionDefinition> list, List<CouponBatch> batchList, PricingOptions options, PromotionSnapshot? previous)
    {
        var problems = new List<ValidationProblem>();
        var idOrder = IdOrder(list, out var ascending);
        var reusable = previous?.Reusable(list, ascending);

        // Ids in strictly ascending order have no duplicates.
        var ids = ascending ? null : new HashSet<string>(list.Count, StringComparer.Ordinal);
        for (var i = 0; i < list.Count; i++)
        {
            // A definition the previous snapshot holds (the same object: definitions are immutable records) was valid then.
            if (reusable?[i] is null)
            {
                foreach (var problem in PromotionDefinitionValidator.Validate(list[i]))
                {
                    problems.Add(problem with { Path = $"promotions[{i}].{problem.Path}" });
                }
            }

            if (ids is not null && list[i].Id is { } id && !ids.Add(id))
            {
                problems.Add(new ValidationProblem($"promotions[{i}].id", $"duplicate id '{id}'"));
            }
        }

        ValidateBatches(batchList, list, problems);
        return problems.Count > 0
            ? throw new PromotionDefinitionException(problems)
            : new PromotionSnapshot(list, batchList, options, idOrder, ascending, previous?._attributes, reusable);
    }

    /// <summary>
    /// For each of <paramref name="definitions"/>, this snapshot's compiled promotion of that very object, if any. Both in
    /// id order (the usual case): one merge pass, comparing ids only where the objects differ; otherwise by id.
    /// </summary>
    private CompiledPromotion?[] Reusable(List<PromotionDefinition> definitions, bool ascending)
    {
        var reusable = new CompiledPromotion?[definitions.Count];
        if (ascending && _idsAscending)
        {
            for (int i = 0, j = 0; i < definitions.Count && j < Definitions.Count;)
            {
                if (ReferenceEquals(definitions[i], Definitions[j]))
                {
                    reusable[i++] = _byDefinition[j++];
                    continue;
                }

                var order = string.CompareOrdinal(definitions[i].Id, Definitions[j].Id);
                i += order <= 0 ? 1 : 0;
                j += order >= 0 ? 1 : 0;
            }

            return reusable;
        }

        var byId = new Dictionary<string, CompiledPromotion>(_byRank.Length, StringComparer.Ordinal);
        foreach (var compiled in _byRank)
        {
            byId[compiled.Id] = compiled;
        }

        for (var i = 0; i < definitions.Count; i++)
        {
            if (definitions[i]?.Id is { } id && byId.TryGetValue(id, out var compiled) && ReferenceEquals(compiled.Definition, definitions[i]))
            {
                reusable[i] = compiled;
            }
        }

        return reusable;
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
                candidate.Rank = rank;
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
            ranks.AddRange(_indexRanks.AsSpan(_indexStart[attribute], _indexStart[attribute + 1] - _indexStart[attribute]));
        }
    }
}
