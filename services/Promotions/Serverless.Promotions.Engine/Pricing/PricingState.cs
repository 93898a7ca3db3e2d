using System.Globalization;
using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// The basket while promotions are applied to it: per-unit item discounts (so "1 of 3 free" is exact), which units
/// a buy-X-get-Y / bundle / Nth-item reward has used, per-line order discounts and the shipping discount.
/// One instance per calculation, reset for every combination the best-deal search tries. All amounts inside are
/// integers in the currency's minor units: the search evaluates a basket many times and decimal arithmetic dominated.
/// </summary>
internal sealed class PricingState
{
    /// <summary>Bits for the unit index in a sort key: the basket validator caps a basket at 1,000 lines × 10,000 units.</summary>
    private const int UnitBits = 24;

    // Arrays are sized for the largest basket this instance has priced (an instance is reused by the calculations on
    // one thread, see Rent) and only their first line / unit / candidate count entries are in use.
    private IReadOnlyList<BasketLine> _lines = [];
    private LineFacts[] _facts = [];
    private PricingContext _context = null!;
    private long _shipping;
    private long _capRoomAtStart;
    private int _lineCount;
    private int _unitCount;
    private int _candidateCount;
    private int[] _firstUnit = [0];
    private int[] _unitLine = [];
    private long[] _unitPrice = [];
    private long[] _lineOriginal = [];
    private long[] _unitDiscount = [];
    private bool[] _consumed = [];
    private long[] _proposed = [];
    // Units with a proposed discount, in proposal order (an array and a count: this is the innermost loop of an evaluation).
    private int[] _touched = [];
    private int _touchedCount;
    private long[] _lineItemDiscount = [];
    private long[] _lineOrderDiscount = [];
    private long[] _lineWeights = [];
    private long[] _lineParts = [];
    private long[] _sortKeys = [];
    private readonly List<int> _unitScratch = [];
    private readonly List<int> _getScratch = [];
    private long[] _savingBySlot = [];
    private bool[] _preApplied = [];
    private long _itemDiscount;
    private long _orderDiscount;
    private long _shippingDiscount;
    private long _capRoom;
    private Checkpointed? _checkpoint;
    private Checkpointed? _checkpointStore;
    private long[] _scaleWeights = [];
    private long[] _scaleParts = [];
    private readonly List<(int Slot, long Amount, int[] Lines)> _pendingOrder = [];
    private long _originalTotal;

    /// <summary>The candidate being applied is held to a cap the caller passed (<see cref="PricingContext.DiscountCaps"/>), not only its own maximum.</summary>
    private bool _budgetCapped;

    [ThreadStatic]
    private static PricingState? t_reusable;

    public PricingState(Basket basket, LineFacts[] facts, PricingContext context, MoneyRounding rounding, decimal? maxOrderDiscount, int candidateCount)
    {
        Initialize(basket, facts, context, rounding, maxOrderDiscount, candidateCount);
    }

    /// <summary>
    /// The calling thread's instance, set up for this basket: its arrays and lists are reused from the previous
    /// calculation on the thread. Valid until the next Rent on the same thread (a calculation does not outlive it).
    /// </summary>
    public static PricingState Rent(Basket basket, LineFacts[] facts, PricingContext context, MoneyRounding rounding, decimal? maxOrderDiscount, int candidateCount)
    {
        // A rare huge basket gets its own instance rather than leaving large arrays behind with the thread.
        if (basket.Lines.Count > CalculationScratch.MaxReusedLines || TotalUnits(basket) > MaxReusedUnits)
        {
            return new PricingState(basket, facts, context, rounding, maxOrderDiscount, candidateCount);
        }

        if (t_reusable is { } state)
        {
            state.Initialize(basket, facts, context, rounding, maxOrderDiscount, candidateCount);
            return state;
        }

        return t_reusable = new PricingState(basket, facts, context, rounding, maxOrderDiscount, candidateCount);
    }

    private const int MaxReusedUnits = 16_384;

    private static long TotalUnits(Basket basket)
    {
        var units = 0L;
        for (var i = 0; i < basket.Lines.Count; i++)
        {
            units += basket.Lines[i].Quantity;
        }

        return units;
    }

    private void Initialize(Basket basket, LineFacts[] facts, PricingContext context, MoneyRounding rounding, decimal? maxOrderDiscount, int candidateCount)
    {
        _lines = basket.Lines;
        _facts = facts;
        _context = context;
        Rounding = rounding;
        Recording = false;
        Evaluations = 0;
        _checkpoint = null;
        _touchedCount = 0;
        _shipping = rounding.ToMinor(basket.ShippingAmount);
        _lineCount = _lines.Count;
        _candidateCount = candidateCount;
        if (_firstUnit.Length < _lineCount + 1)
        {
            _firstUnit = new int[_lineCount + 1];
            _lineOriginal = new long[_lineCount];
            _lineItemDiscount = new long[_lineCount];
            _lineOrderDiscount = new long[_lineCount];
            _lineWeights = new long[_lineCount];
            _lineParts = new long[_lineCount];
            _checkpointStore = null;
        }

        _firstUnit[0] = 0;
        for (var i = 0; i < _lineCount; i++)
        {
            _firstUnit[i + 1] = _firstUnit[i] + _lines[i].Quantity;
        }

        var units = _unitCount = _firstUnit[_lineCount];
        if (_unitLine.Length < units)
        {
            _unitLine = new int[units];
            _unitPrice = new long[units];
            _unitDiscount = new long[units];
            _consumed = new bool[units];
            _proposed = new long[units];
            _sortKeys = new long[units];
            _touched = new int[units];
            _checkpointStore = null;
        }
        else
        {
            // Proposals are always committed and zeroed again; a calculation that threw may have left some behind.
            Array.Clear(_proposed, 0, units);
        }

        _originalTotal = 0;
        for (var i = 0; i < _lineCount; i++)
        {
            var price = rounding.ToMinor(_lines[i].UnitPrice);
            Array.Fill(_unitLine, i, _firstUnit[i], _lines[i].Quantity);
            Array.Fill(_unitPrice, price, _firstUnit[i], _lines[i].Quantity);
            _lineOriginal[i] = price * _lines[i].Quantity;
            _originalTotal += _lineOriginal[i];
        }

        _capRoomAtStart = maxOrderDiscount is { } cap ? rounding.ToMinor(rounding.Floor(cap)) : long.MaxValue;
        if (_savingBySlot.Length < candidateCount)
        {
            _savingBySlot = new long[candidateCount];
            Shortfalls = new Shortfall?[candidateCount];
            GiftAdded = new bool[candidateCount];
            _checkpointStore = null;
        }

        Reset();
    }

    private enum UnitRule
    {
        Percent,
        Amount,
        Price,
    }

    public MoneyRounding Rounding { get; private set; }

    /// <summary>When set, adjustments, gifts and notes are kept for the explanation (the final evaluation only).</summary>
    public bool Recording { get; set; }

    /// <summary>Basket evaluations so far: the best-deal search's effort for this calculation.</summary>
    public int Evaluations { get; private set; }

    public decimal ItemDiscount => Rounding.FromMinor(_itemDiscount);

    public decimal OrderDiscount => Rounding.FromMinor(_orderDiscount);

    public decimal ShippingDiscount => Rounding.FromMinor(_shippingDiscount);

    public decimal Saving => Rounding.FromMinor(_itemDiscount + _orderDiscount + _shippingDiscount);

    /// <summary>Per candidate slot (the array may be longer than the candidate count).</summary>
    public Shortfall?[] Shortfalls { get; private set; } = [];

    /// <summary>Per candidate slot (the array may be longer than the candidate count).</summary>
    public bool[] GiftAdded { get; private set; } = [];

    public List<RecordedAdjustment> Adjustments { get; } = [];

    public List<GiftLine> Gifts { get; } = [];

    public List<string> Notes { get; } = [];

    public decimal SavingOf(int slot) => Rounding.FromMinor(_savingBySlot[slot]);

    /// <summary>The slot's saving in minor units: compares like <see cref="SavingOf"/> without building a decimal.</summary>
    public long SavingMinorOf(int slot) => _savingBySlot[slot];

    public int FirstUnit(int line) => _firstUnit[line];

    public decimal UnitDiscount(int unit) => Rounding.FromMinor(_unitDiscount[unit]);

    public long UnitDiscountMinor(int unit) => _unitDiscount[unit];

    private void Restore(Checkpointed saved)
    {
        _pendingOrder.Clear();
        Array.Copy(saved.UnitDiscount, _unitDiscount, _unitCount);
        Array.Copy(saved.Consumed, _consumed, _unitCount);
        Array.Copy(saved.LineItemDiscount, _lineItemDiscount, _lineCount);
        Array.Copy(saved.LineOrderDiscount, _lineOrderDiscount, _lineCount);
        Array.Copy(saved.SavingBySlot, _savingBySlot, _candidateCount);
        Array.Copy(saved.Shortfalls, Shortfalls, _candidateCount);
        Array.Copy(saved.GiftAdded, GiftAdded, _candidateCount);
        (_itemDiscount, _orderDiscount, _shippingDiscount, _capRoom) = saved.Totals;
    }

    public void Reset()
    {
        _pendingOrder.Clear();
        Array.Clear(_unitDiscount, 0, _unitCount);
        Array.Clear(_consumed, 0, _unitCount);
        Array.Clear(_lineItemDiscount, 0, _lineCount);
        Array.Clear(_lineOrderDiscount, 0, _lineCount);
        Array.Clear(_savingBySlot, 0, _candidateCount);
        Array.Clear(Shortfalls, 0, _candidateCount);
        Array.Clear(GiftAdded, 0, _candidateCount);
        _itemDiscount = _orderDiscount = _shippingDiscount = 0;
        _capRoom = _capRoomAtStart;
        Adjustments.Clear();
        Gifts.Clear();
        Notes.Clear();
    }

    /// <summary>
    /// Applies the candidates before <paramref name="firstVaried"/> once and keeps the result: while a conflict group is
    /// searched only its members (all at or after its first slot) change, so every evaluation can start from here.
    /// When <paramref name="varied"/> (the group's slots) is given, later candidates whose result cannot depend on the
    /// group's choices are applied here too, once, instead of in every evaluation (see <see cref="PreApply"/>).
    /// </summary>
    public void Checkpoint(IReadOnlyList<Candidate> candidates, ReadOnlySpan<bool> included, int firstVaried, List<int>? varied = null)
    {
        Reset();
        for (var slot = 0; slot < firstVaried; slot++)
        {
            if (included[slot])
            {
                Apply(candidates[slot], slot);
            }
        }

        AllocatePendingOrderDiscounts();
        if (_preApplied.Length < _candidateCount)
        {
            _preApplied = new bool[_savingBySlot.Length];
        }

        Array.Clear(_preApplied, 0, _candidateCount);
        if (varied is not null)
        {
            PreApply(candidates, included, firstVaried, varied);
        }

        // One set of checkpoint arrays per state, overwritten for each conflict group.
        _checkpointStore ??= new Checkpointed(
            0,
            new long[_unitDiscount.Length],
            new bool[_consumed.Length],
            new long[_lineItemDiscount.Length],
            new long[_lineOrderDiscount.Length],
            new long[_savingBySlot.Length],
            new Shortfall?[Shortfalls.Length],
            new bool[GiftAdded.Length],
            default);
        Array.Copy(_unitDiscount, _checkpointStore.UnitDiscount, _unitCount);
        Array.Copy(_consumed, _checkpointStore.Consumed, _unitCount);
        Array.Copy(_lineItemDiscount, _checkpointStore.LineItemDiscount, _lineCount);
        Array.Copy(_lineOrderDiscount, _checkpointStore.LineOrderDiscount, _lineCount);
        Array.Copy(_savingBySlot, _checkpointStore.SavingBySlot, _candidateCount);
        Array.Copy(Shortfalls, _checkpointStore.Shortfalls, _candidateCount);
        Array.Copy(GiftAdded, _checkpointStore.GiftAdded, _candidateCount);
        _checkpointStore.FirstVaried = firstVaried;
        _checkpointStore.PreApplied = _preApplied;
        _checkpointStore.Totals = (_itemDiscount, _orderDiscount, _shippingDiscount, _capRoom);
        _checkpoint = _checkpointStore;
    }

    public void ClearCheckpoint() => _checkpoint = null;

    /// <summary>
    /// Applies, in slot order, the included candidates after <paramref name="firstVaried"/> that every evaluation of the
    /// group would apply to exactly the same units, so the evaluations can skip them. Such a candidate is not in the
    /// group and has only unit-level item rewards (they read and write nothing but the units of their own lines, plus
    /// running totals that are only added to), and none of its lines is touched earlier by a group member or by a
    /// candidate left to the evaluations. It must also come before any candidate that measures subtotals or spreads an
    /// order discount (those would see it early). Sums are order-independent, so every evaluation ends with the same
    /// units, totals and per-slot savings as when applying everything in order. With an order-wide cap the remaining
    /// room depends on what applied before, so then nothing is pre-applied.
    /// </summary>
    private void PreApply(IReadOnlyList<Candidate> candidates, ReadOnlySpan<bool> included, int firstVaried, List<int> varied)
    {
        if (_capRoomAtStart != long.MaxValue)
        {
            return;
        }

        Span<bool> dirty = _lineCount <= 1024 ? stackalloc bool[_lineCount] : new bool[_lineCount];
        dirty.Clear();
        var measuring = false;
        for (var slot = firstVaried; slot < candidates.Count && !measuring; slot++)
        {
            var candidate = candidates[slot];
            var inGroup = varied.Contains(slot);
            if (!inGroup && !included[slot])
            {
                // Fixed out of every evaluation of this group (a later group's member, an exclusive): never applied.
                continue;
            }

            var unitOnly = candidate.Promotion.UnitLevelOnly;
            if (!inGroup && unitOnly && !TouchesAny(candidate, dirty))
            {
                Apply(candidate, slot);
                _preApplied[slot] = true;
                continue;
            }

            MarkLines(candidate, dirty);
            measuring = !unitOnly;
        }
    }

    private static bool TouchesAny(Candidate candidate, ReadOnlySpan<bool> dirty)
    {
        for (var r = 0; r < candidate.TargetLines.Length; r++)
        {
            foreach (var line in candidate.TargetLines[r])
            {
                if (dirty[line])
                {
                    return true;
                }
            }

            foreach (var line in candidate.GetLines[r] ?? [])
            {
                if (dirty[line])
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static void MarkLines(Candidate candidate, Span<bool> dirty)
    {
        for (var r = 0; r < candidate.TargetLines.Length; r++)
        {
            foreach (var line in candidate.TargetLines[r])
            {
                dirty[line] = true;
            }

            foreach (var line in candidate.GetLines[r] ?? [])
            {
                dirty[line] = true;
            }
        }
    }

    /// <summary>Applies the included candidates in application (rank) order and returns the total saving.</summary>
    public decimal Evaluate(IReadOnlyList<Candidate> candidates, ReadOnlySpan<bool> included)
    {
        Evaluations++;
        if (_checkpoint is { } saved && !Recording)
        {
            // The checkpoint holds the slots before FirstVaried and the pre-applied ones (see PreApply).
            Restore(saved);
            var preApplied = saved.PreApplied;
            for (var slot = saved.FirstVaried; slot < candidates.Count; slot++)
            {
                if (included[slot] && !preApplied[slot])
                {
                    Apply(candidates[slot], slot);
                }
            }

            return Saving;
        }

        Reset();
        for (var slot = 0; slot < candidates.Count; slot++)
        {
            if (included[slot])
            {
                Apply(candidates[slot], slot);
            }
        }

        return Saving;
    }

    private void Apply(Candidate candidate, int slot)
    {
        var promotion = candidate.Promotion;
        foreach (var condition in promotion.Conditions)
        {
            // Discounted-basis spend is only known once earlier promotions have applied.
            if (condition.Definition is Condition.MinimumSpend { Basis: SpendBasis.Discounted } spend)
            {
                var measured = 0L;
                for (var line = 0; line < _lines.Count; line++)
                {
                    if (condition.Items.Matches(_facts[line]))
                    {
                        measured += LineNet(line);
                    }
                }

                var measuredAmount = Rounding.FromMinor(measured);
                if (measuredAmount < spend.Amount)
                {
                    Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, spend.Amount - measuredAmount, RewardEstimate.For(promotion.Definition, spend.Amount));
                    return;
                }
            }
        }

        var room = promotion.MaxDiscountMinor is { } max ? max.For(Rounding) : long.MaxValue;
        _budgetCapped = false;
        if (_context.DiscountCaps is { } caps && caps.TryGetValue(promotion.Definition.Id, out var cap) && Rounding.ToMinor(Rounding.Floor(Math.Max(cap, 0m))) is var left && left < room)
        {
            room = left;
            _budgetCapped = true;
        }

        var saving = 0L;
        for (var r = 0; r < promotion.Rewards.Length; r++)
        {
            saving += ApplyReward(candidate, slot, r, ref room);
        }

        _savingBySlot[slot] = saving;
    }

    private long ApplyReward(Candidate candidate, int slot, int rewardIndex, ref long room)
    {
        var definition = candidate.Promotion.Definition;
        var reward = candidate.Promotion.Rewards[rewardIndex];
        var targets = candidate.TargetLines[rewardIndex];
        var fromOriginal = definition.StackingBase == StackingBase.OriginalPrice;
        switch (reward.Definition)
        {
            case Reward.PercentOffItems:
                ProposePerUnit(targets, UnitRule.Percent, 0, reward.PercentScaled, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.AmountOffItems:
                ProposePerUnit(targets, UnitRule.Amount, reward.ValueMinor!.For(Rounding), 0, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.FixedPricePerItem:
                ProposePerUnit(targets, UnitRule.Price, reward.ValueMinor!.For(Rounding), 0, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.MemberPrice when _context.MemberTier is { } tier && reward.MemberTiers!.Contains(tier):
                ProposePerUnit(targets, UnitRule.Price, 0, 0, fromOriginal, reward.MemberPricesMinor);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.MemberPrice:
                Shortfalls[slot] = new Shortfall(OutcomeReason.NotTargeted, 0m, null, "memberTier");
                return 0;
            case Reward.BuyXGetY r:
                ProposeBuyXGetY(r, reward, targets, candidate.GetLines[rewardIndex], fromOriginal);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.BundlePrice r:
                ProposeBundles(r, reward.ValueMinor!.For(Rounding), targets);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.NthItemDiscount r:
                ProposeNthItems(r, reward.PercentScaled, targets, fromOriginal);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.PercentOffOrder:
                return ApplyOrderDiscount(slot, definition.Id, targets, PercentOf(Subtotal(targets, fromOriginal), reward.PercentScaled), ref room);
            case Reward.AmountOffOrder:
                return ApplyOrderDiscount(slot, definition.Id, targets, reward.ValueMinor!.For(Rounding), ref room);
            case Reward.SpendTiers r:
                {
                    var measured = Rounding.FromMinor(Subtotal(targets, r.Basis == SpendBasis.Original));
                    SpendTier? reached = null;
                    for (var t = 0; t < r.Tiers.Count; t++)
                    {
                        // Indexed, not foreach: the interface enumerator would be allocated on every evaluation.
                        if (measured >= r.Tiers[t].Threshold)
                        {
                            reached = r.Tiers[t];
                        }
                    }

                    if (reached is null)
                    {
                        var first = r.Tiers[0];
                        Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, first.Threshold - measured, TierSaving(first, first.Threshold));
                        return 0;
                    }

                    return ApplyOrderDiscount(slot, definition.Id, targets, Minor(TierSaving(reached, measured)), ref room);
                }

            case Reward.SpendEvery r:
                {
                    var measured = Rounding.FromMinor(Subtotal(targets, r.Basis == SpendBasis.Original));
                    var times = decimal.Floor(measured / r.Every);
                    if (r.MaxApplications is { } max)
                    {
                        times = Math.Min(times, max);
                    }

                    if (times == 0)
                    {
                        Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, r.Every - measured, r.Save);
                        return 0;
                    }

                    return ApplyOrderDiscount(slot, definition.Id, targets, Minor(times * r.Save), ref room);
                }

            case Reward.FreeGift r:
                GiftAdded[slot] = true;
                if (Recording)
                {
                    Gifts.Add(new GiftLine(definition.Id, r.Sku, r.Quantity, 0m));
                }

                return 0;
            case Reward.ShippingDiscount r:
                {
                    var remaining = _shipping - _shippingDiscount;
                    var amount = r.Kind switch
                    {
                        DiscountKind.Free => remaining,
                        DiscountKind.Percent => PercentOf(fromOriginal ? _shipping : remaining, reward.PercentScaled),
                        _ => reward.ValueMinor!.For(Rounding),
                    };
                    amount = Math.Min(Math.Min(amount, remaining), room);
                    if (amount <= 0)
                    {
                        return 0;
                    }

                    _shippingDiscount += amount;
                    room -= amount;
                    return amount;
                }

            default:
                throw new NotSupportedException(reward.Definition.GetType().Name);
        }
    }

    private decimal TierSaving(SpendTier tier, decimal measured) =>
        tier.Amount ?? Rounding.Round(measured * (tier.Percent ?? 0m) / 100m);

    /// <summary>A decimal amount from a definition, rounded to the currency, in minor units.</summary>
    private long Minor(decimal amount) => Rounding.ToMinor(Rounding.Round(amount));

    /// <summary>Percent of an amount in minor units with the percent already × 10⁴ (see <see cref="CompiledReward.PercentScaled"/>).</summary>
    private long PercentOf(long amount, long scaledPercent)
    {
        // Percentages are validated to at most 4 decimal places: amount × percent × 10⁴ / 10⁶.
        const long denominator = 1_000_000;
        if (amount is > -(1L << 40) and < 1L << 40 && scaledPercent is > -(1L << 22) and < 1L << 22)
        {
            // Everyday amounts: the 64-bit product is exact, and truncating division matches the 128-bit path.
            var product = amount * scaledPercent;
            var q = product / denominator;
            var twice2 = product % denominator * 2;
            if (twice2 > denominator || (twice2 == denominator && (Rounding.Mode == RoundingMode.HalfUp || (q & 1) == 1)))
            {
                q++;
            }

            return q;
        }

        var numerator = (Int128)amount * scaledPercent;
        var quotient = (long)(numerator / denominator);
        var twice = (long)(numerator % denominator) * 2;
        if (twice > denominator || (twice == denominator && (Rounding.Mode == RoundingMode.HalfUp || (quotient & 1) == 1)))
        {
            quotient++;
        }

        return quotient;
    }

    /// <summary>Proposes the same rule for every unit of the lines: percent off, amount off, or a price (member prices per sku).</summary>
    private void ProposePerUnit(int[] lines, UnitRule rule, long valueMinor, long scaledPercent, bool fromOriginal, IReadOnlyDictionary<string, MinorTable>? pricesBySku)
    {
        foreach (var line in lines)
        {
            var price = pricesBySku is null ? valueMinor : pricesBySku[_lines[line].Sku].For(Rounding);
            var lastBase = -1L;
            var discount = 0L;
            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
            {
                // Units of a line usually share their price: compute the rounded discount once per distinct price.
                // A price is what the unit ends up costing, whatever the stacking base: it takes off only what is left above it.
                var unitBase = rule == UnitRule.Price ? UnitNet(unit) : Base(unit, fromOriginal);
                if (unitBase != lastBase)
                {
                    lastBase = unitBase;
                    discount = rule switch
                    {
                        UnitRule.Percent => PercentOf(unitBase, scaledPercent),
                        UnitRule.Amount => valueMinor,
                        _ => unitBase - price,
                    };
                }

                Propose(unit, discount);
            }
        }
    }

    /// <summary>
    /// The most a unit reward can save in any combination evaluated after this state's one, when this state holds only
    /// promotions that every such combination also holds: units only get cheaper and scarcer from here, so the best
    /// k units at today's prices bound what it can take (k from its quantities and maximum applications).
    /// Unlike the standalone saving this is a true bound: taking units away can make a buy-X-get-Y regroup for more.
    /// </summary>
    public decimal UnitRewardCeiling(Candidate candidate)
    {
        var fromOriginal = candidate.Promotion.Definition.StackingBase == StackingBase.OriginalPrice;
        var total = 0L;
        for (var r = 0; r < candidate.Promotion.Rewards.Length; r++)
        {
            var targets = candidate.TargetLines[r];
            switch (candidate.Promotion.Rewards[r].Definition)
            {
                case Reward.BuyXGetY x:
                    {
                        var lines = candidate.GetLines[r] ?? targets;
                        var units = (int)Math.Min(int.MaxValue, (long)(x.MaxApplications ?? int.MaxValue) * x.GetQuantity);
                        var reward = candidate.Promotion.Rewards[r];
                        var n = 0;
                        foreach (var line in lines)
                        {
                            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
                            {
                                if (!_consumed[unit])
                                {
                                    _sortKeys[n++] = -Math.Min(UnitNet(unit), Discount(unit, x.Discount, reward, fromOriginal));
                                }
                            }
                        }

                        total += SumOfLargest(n, units);
                        break;
                    }

                case Reward.NthItemDiscount nth:
                    {
                        var units = Math.Min(UnitCount(targets) / nth.N, nth.MaxApplications ?? int.MaxValue);
                        var scaledPercent = candidate.Promotion.Rewards[r].PercentScaled;
                        var n = 0;
                        foreach (var line in targets)
                        {
                            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
                            {
                                if (!_consumed[unit])
                                {
                                    _sortKeys[n++] = -Math.Min(UnitNet(unit), PercentOf(Base(unit, fromOriginal), scaledPercent));
                                }
                            }
                        }

                        total += SumOfLargest(n, units);
                        break;
                    }

                case Reward.BundlePrice bundle:
                    {
                        var pool = AvailableUnits(targets, _unitScratch, dearestFirst: true);
                        var bundles = Math.Min(pool.Count / bundle.Quantity, bundle.MaxApplications ?? int.MaxValue);
                        long best = 0, running = 0;
                        for (var k = 0; k < bundles; k++)
                        {
                            for (var i = k * bundle.Quantity; i < (k + 1) * bundle.Quantity; i++)
                            {
                                running += UnitNet(pool[i]);
                            }

                            running -= Minor(bundle.Price);
                            best = Math.Max(best, running);
                        }

                        total += best;
                        break;
                    }

                default:
                    // Other rewards of a unit-reward promotion: their standalone saving is already an upper bound.
                    break;
            }
        }

        if (candidate.Promotion.Definition.MaxDiscount is { } max)
        {
            total = Math.Min(total, Minor(Rounding.Floor(max)));
        }

        return Rounding.FromMinor(total);
    }

    /// <summary>Most a promotion can save on its own: the original value of the lines it targets (or the shipping), capped.</summary>
    public decimal ValueCeiling(Candidate candidate)
    {
        var total = 0L;
        for (var r = 0; r < candidate.Promotion.Rewards.Length; r++)
        {
            total += candidate.Promotion.Rewards[r].Definition switch
            {
                Reward.ShippingDiscount => _shipping,
                Reward.FreeGift => 0,
                _ => Subtotal(candidate.TargetLines[r], original: true) + Subtotal(candidate.GetLines[r] ?? [], original: true),
            };
        }

        if (candidate.Promotion.Definition.MaxDiscount is { } max)
        {
            total = Math.Min(total, Minor(Rounding.Floor(max)));
        }

        return Rounding.FromMinor(total);
    }

    /// <summary>
    /// Sum of the <paramref name="count"/> largest of the first <paramref name="n"/> sort keys, which hold per-unit
    /// values negated (the callers fill them in loops rather than through a delegate: a closure per call was garbage).
    /// </summary>
    private long SumOfLargest(int n, int count)
    {
        Array.Sort(_sortKeys, 0, n);
        var sum = 0L;
        for (var i = 0; i < Math.Min(n, count); i++)
        {
            sum -= _sortKeys[i];
        }

        return sum;
    }

    private int UnitCount(int[] lines)
    {
        var count = 0;
        foreach (var line in lines)
        {
            count += _lines[line].Quantity;
        }

        return count;
    }

    private long UnitNet(int unit) => _unitPrice[unit] - _unitDiscount[unit] - _proposed[unit];

    private long Base(int unit, bool fromOriginal) => fromOriginal ? _unitPrice[unit] : UnitNet(unit);

    private long LineNet(int line)
    {
        if (_pendingOrder.Count > 0)
        {
            AllocatePendingOrderDiscounts();
        }

        return _lineOriginal[line] - _lineItemDiscount[line] - _lineOrderDiscount[line];
    }

    private long Subtotal(int[] lines, bool original)
    {
        if (lines.Length == _lines.Count)
        {
            // Every line: no need to look at (or allocate to) lines one by one.
            return original ? _originalTotal : _originalTotal - _itemDiscount - _orderDiscount;
        }

        var sum = 0L;
        foreach (var line in lines)
        {
            sum += original ? _lineOriginal[line] : LineNet(line);
        }

        return sum;
    }

    /// <summary>Proposes a discount for one unit, never more than what is left of its price (the clamp is noted).</summary>
    private void Propose(int unit, long discount)
    {
        var net = UnitNet(unit);
        if (discount > net)
        {
            if (Recording)
            {
                Notes.Add($"A discount on line {_lines[_unitLine[unit]].LineId} was clamped so the unit price does not go below zero.");
            }

            discount = net;
        }

        if (discount <= 0)
        {
            return;
        }

        if (_proposed[unit] == 0)
        {
            _touched[_touchedCount++] = unit;
        }

        _proposed[unit] += discount;
    }

    /// <summary>Applies the proposed unit discounts, cut down to the promotion's and the order's remaining caps.</summary>
    private long CommitItems(int slot, string promotionId, ref long room)
    {
        var touched = _touched.AsSpan(0, _touchedCount);
        var total = 0L;
        foreach (var unit in touched)
        {
            total += _proposed[unit];
        }

        var limit = Math.Min(room, _capRoom);
        if (total > limit)
        {
            NoteCap(promotionId, limit, room);
            ScaleProposed(limit);
            total = limit;
        }

        if (Recording)
        {
            RecordItemAdjustments(slot);
        }

        foreach (var unit in touched)
        {
            _unitDiscount[unit] += _proposed[unit];
            _lineItemDiscount[_unitLine[unit]] += _proposed[unit];
            _proposed[unit] = 0;
        }

        _touchedCount = 0;
        _itemDiscount += total;
        _capRoom -= total;
        room -= total;
        return total;
    }

    private void NoteCap(string promotionId, long limit, long room)
    {
        if (Recording)
        {
            var why = room > _capRoom ? "order maximum" : _budgetCapped ? "what is left of its budget" : "promotion maximum";
            Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{promotionId} was capped at {new EligibilityGate.Amount(Rounding.FromMinor(limit), Rounding)} ({why})."));
        }
    }

    private void ScaleProposed(long limit)
    {
        if (_scaleWeights.Length < _touchedCount)
        {
            _scaleWeights = new long[_touchedCount];
            _scaleParts = new long[_touchedCount];
        }

        var weights = _scaleWeights.AsSpan(0, _touchedCount);
        var parts = _scaleParts.AsSpan(0, _touchedCount);
        for (var i = 0; i < _touchedCount; i++)
        {
            weights[i] = _proposed[_touched[i]];
        }

        LargestRemainder.Allocate(limit, weights, parts);
        for (var i = 0; i < _touchedCount; i++)
        {
            _proposed[_touched[i]] = parts[i];
        }
    }

    private void RecordItemAdjustments(int slot)
    {
        // Touched units are grouped per line: one adjustment per line with the number of units it reached.
        Array.Sort(_touched, 0, _touchedCount);
        var i = 0;
        while (i < _touchedCount)
        {
            var line = _unitLine[_touched[i]];
            var amount = 0L;
            var units = 0;
            for (; i < _touchedCount && _unitLine[_touched[i]] == line; i++)
            {
                if (_proposed[_touched[i]] > 0)
                {
                    amount += _proposed[_touched[i]];
                    units++;
                }
            }

            if (amount > 0)
            {
                Adjustments.Add(new RecordedAdjustment(slot, line, Rounding.FromMinor(amount), units));
            }
        }
    }

    private long ApplyOrderDiscount(int slot, string promotionId, int[] lines, long amount, ref long room)
    {
        var limit = Math.Min(room, _capRoom);
        if (amount > limit)
        {
            NoteCap(promotionId, limit, room);
            amount = limit;
        }

        var net = Subtotal(lines, original: false);
        if (amount > net)
        {
            if (Recording)
            {
                Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{promotionId} was clamped to {Rounding.FromMinor(net)} so the order total does not go below zero."));
            }

            amount = net;
        }

        if (amount <= 0)
        {
            return 0;
        }

        _pendingOrder.Add((slot, amount, lines));
        if (Recording)
        {
            AllocatePendingOrderDiscounts();
        }

        _orderDiscount += amount;
        _capRoom -= amount;
        room -= amount;
        return amount;
    }

    /// <summary>
    /// Spreads order discounts over their lines by largest remainder, weighted by the lines' totals at that point, so
    /// the line parts sum exactly to each discount. While the search only compares totals this waits until a per-line
    /// total is actually read; most baskets never need it, and the allocation was the costliest step of an evaluation.
    /// </summary>
    private void AllocatePendingOrderDiscounts()
    {
        var pending = _pendingOrder;
        for (var p = 0; p < pending.Count; p++)
        {
            var (slot, amount, lines) = pending[p];
            var weights = _lineWeights.AsSpan(0, _lineCount);
            weights.Clear();
            foreach (var line in lines)
            {
                weights[line] = _lineOriginal[line] - _lineItemDiscount[line] - _lineOrderDiscount[line];
            }

            LargestRemainder.Allocate(amount, weights, _lineParts.AsSpan(0, _lineCount));
            for (var line = 0; line < _lineCount; line++)
            {
                if (_lineParts[line] > 0)
                {
                    _lineOrderDiscount[line] += _lineParts[line];
                    if (Recording)
                    {
                        Adjustments.Add(new RecordedAdjustment(slot, line, Rounding.FromMinor(_lineParts[line]), 0));
                    }
                }
            }
        }

        pending.Clear();
    }

    /// <summary>
    /// The lines' units not yet used by a unit reward, by price (ties by position, for determinism), sorted as one long
    /// key per unit. A reward stacking on the original price also chooses by original price, so an earlier discount
    /// cannot steer it onto a unit whose original price it then discounts.
    /// </summary>
    private List<int> AvailableUnits(int[] lines, List<int> into, bool dearestFirst, bool byOriginal = false)
    {
        var count = 0;
        foreach (var line in lines)
        {
            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
            {
                if (!_consumed[unit])
                {
                    var net = Base(unit, byOriginal);
                    _sortKeys[count++] = ((dearestFirst ? -net : net) << UnitBits) | (long)unit;
                }
            }
        }

        Array.Sort(_sortKeys, 0, count);
        into.Clear();
        for (var i = 0; i < count; i++)
        {
            into.Add((int)(_sortKeys[i] & ((1L << UnitBits) - 1)));
        }

        return into;
    }

    private long Discount(int unit, DiscountKind kind, CompiledReward reward, bool fromOriginal) => kind switch
    {
        DiscountKind.Free => UnitNet(unit),
        DiscountKind.Percent => PercentOf(Base(unit, fromOriginal), reward.PercentScaled),
        _ => reward.ValueMinor!.For(Rounding),
    };

    private void ProposeBuyXGetY(Reward.BuyXGetY r, CompiledReward reward, int[] buyLines, int[]? getLines, bool fromOriginal)
    {
        var applications = 0;
        var max = r.MaxApplications ?? int.MaxValue;
        if (getLines is null)
        {
            // Same set: sort by price, take groups of X+Y; within each group the cheapest (or dearest) Y are discounted.
            var units = AvailableUnits(buyLines, _unitScratch, dearestFirst: true, fromOriginal);
            var group = r.BuyQuantity + r.GetQuantity;
            for (var start = 0; start + group <= units.Count && applications < max; start += group, applications++)
            {
                var firstGet = r.Choose == UnitChoice.Cheapest ? start + r.BuyQuantity : start;
                for (var i = start; i < start + group; i++)
                {
                    _consumed[units[i]] = true;
                }

                for (var i = firstGet; i < firstGet + r.GetQuantity; i++)
                {
                    Propose(units[i], Discount(units[i], r.Discount, reward, fromOriginal));
                }
            }

            return;
        }

        // Different sets: each application takes Y "get" units (cheapest or dearest first), then X "buy" units, dearest
        // first; it needs both in full.
        var buys = AvailableUnits(buyLines, _unitScratch, dearestFirst: true, fromOriginal);
        var gets = AvailableUnits(getLines, _getScratch, dearestFirst: r.Choose == UnitChoice.MostExpensive, fromOriginal);
        Span<int> taken = stackalloc int[Math.Min(r.BuyQuantity + r.GetQuantity, 256)];
        while (applications < max && r.BuyQuantity + r.GetQuantity <= taken.Length)
        {
            var count = 0;
            foreach (var unit in gets)
            {
                if (count == r.GetQuantity)
                {
                    break;
                }

                if (!_consumed[unit])
                {
                    _consumed[unit] = true;
                    taken[count++] = unit;
                }
            }

            // Fewer than Y "get" units left: no further application. Buy units only qualify; they are never discounted.
            if (count < r.GetQuantity)
            {
                for (var i = 0; i < count; i++)
                {
                    _consumed[taken[i]] = false;
                }

                return;
            }

            foreach (var unit in buys)
            {
                if (count == r.GetQuantity + r.BuyQuantity)
                {
                    break;
                }

                if (!_consumed[unit])
                {
                    _consumed[unit] = true;
                    taken[count++] = unit;
                }
            }

            if (count < r.GetQuantity + r.BuyQuantity)
            {
                for (var i = 0; i < count; i++)
                {
                    _consumed[taken[i]] = false;
                }

                return;
            }

            for (var i = 0; i < r.GetQuantity; i++)
            {
                Propose(taken[i], Discount(taken[i], r.Discount, reward, fromOriginal));
            }

            applications++;
        }
    }

    private void ProposeBundles(Reward.BundlePrice r, long bundlePrice, int[] lines)
    {
        // Dearest units first: that is where a fixed bundle price saves the most.
        var units = AvailableUnits(lines, _unitScratch, dearestFirst: true);
        var max = r.MaxApplications ?? int.MaxValue;
        Span<long> weights = stackalloc long[Math.Min(r.Quantity, 64)];
        Span<long> parts = stackalloc long[Math.Min(r.Quantity, 64)];
        for (int start = 0, applications = 0; start + r.Quantity <= units.Count && applications < max && r.Quantity <= 64; start += r.Quantity, applications++)
        {
            var sum = 0L;
            for (var i = 0; i < r.Quantity; i++)
            {
                weights[i] = UnitNet(units[start + i]);
                sum += weights[i];
            }

            if (sum <= bundlePrice)
            {
                return;
            }

            LargestRemainder.Allocate(sum - bundlePrice, weights, parts);
            for (var i = 0; i < r.Quantity; i++)
            {
                var unit = units[start + i];
                _consumed[unit] = true;
                Propose(unit, parts[i]);
            }
        }
    }

    private void ProposeNthItems(Reward.NthItemDiscount r, long scaledPercent, int[] lines, bool fromOriginal)
    {
        var units = AvailableUnits(lines, _unitScratch, dearestFirst: true, fromOriginal);
        var max = r.MaxApplications ?? int.MaxValue;
        for (int end = r.N - 1, applications = 0; end < units.Count && applications < max; end += r.N, applications++)
        {
            for (var i = end - r.N + 1; i <= end; i++)
            {
                _consumed[units[i]] = true;
            }

            Propose(units[end], PercentOf(Base(units[end], fromOriginal), scaledPercent));
        }
    }
}

internal sealed class Checkpointed(
    int firstVaried,
    long[] unitDiscount,
    bool[] consumed,
    long[] lineItemDiscount,
    long[] lineOrderDiscount,
    long[] savingBySlot,
    Shortfall?[] shortfalls,
    bool[] giftAdded,
    (long Item, long Order, long Shipping, long CapRoom) totals)
{
    public int FirstVaried { get; set; } = firstVaried;

    /// <summary>Per slot: applied into the checkpoint although at or after FirstVaried (see PricingState.PreApply).</summary>
    public bool[] PreApplied { get; set; } = [];

    public long[] UnitDiscount { get; } = unitDiscount;

    public bool[] Consumed { get; } = consumed;

    public long[] LineItemDiscount { get; } = lineItemDiscount;

    public long[] LineOrderDiscount { get; } = lineOrderDiscount;

    public long[] SavingBySlot { get; } = savingBySlot;

    public Shortfall?[] Shortfalls { get; } = shortfalls;

    public bool[] GiftAdded { get; } = giftAdded;

    public (long Item, long Order, long Shipping, long CapRoom) Totals { get; set; } = totals;
}

/// <summary>A promotion's amount on one line during the final evaluation; Units = 0 for an allocated order discount.</summary>
internal readonly record struct RecordedAdjustment(int Slot, int Line, decimal Amount, int Units);

/// <summary>Why a chosen promotion gave nothing at application time (discounted-basis spend, tiers not reached, member tier).</summary>
internal sealed record Shortfall(OutcomeReason Reason, decimal Missing, decimal? PotentialSaving, string? Detail = null);
