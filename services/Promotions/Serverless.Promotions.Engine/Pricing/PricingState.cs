using System.Globalization;
using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// The basket while promotions are applied to it: per-unit item discounts (so "1 of 3 free" is exact), which units
/// a buy-X-get-Y / bundle / Nth-item reward has used, per-line order discounts and the shipping discount.
/// One instance per calculation, reset for every combination the best-deal search tries.
/// </summary>
internal sealed class PricingState
{
    private readonly IReadOnlyList<BasketLine> _lines;
    private readonly PricingContext _context;
    private readonly decimal _shipping;
    private readonly decimal _capRoomAtStart;
    private readonly int[] _firstUnit;
    private readonly int[] _unitLine;
    private readonly decimal[] _unitPrice;
    private readonly decimal[] _lineOriginal;
    private readonly decimal[] _unitDiscount;
    private readonly bool[] _consumed;
    private readonly decimal[] _proposed;
    private readonly List<int> _touched = [];
    private readonly decimal[] _lineItemDiscount;
    private readonly decimal[] _lineOrderDiscount;
    private readonly long[] _lineWeights;
    private readonly long[] _lineParts;
    private readonly List<int> _unitScratch = [];
    private readonly List<int> _getScratch = [];
    private readonly long[] _sortKeys;

    /// <summary>Bits for the unit index in a sort key: the basket validator caps a basket at 1,000 lines × 10,000 units.</summary>
    private const int UnitBits = 24;
    private decimal _capRoom;

    public PricingState(Basket basket, PricingContext context, MoneyRounding rounding, decimal? maxOrderDiscount, int candidateCount)
    {
        _lines = basket.Lines;
        _context = context;
        _shipping = basket.ShippingAmount;
        Rounding = rounding;
        _firstUnit = new int[_lines.Count + 1];
        for (var i = 0; i < _lines.Count; i++)
        {
            _firstUnit[i + 1] = _firstUnit[i] + _lines[i].Quantity;
        }

        var units = _firstUnit[_lines.Count];
        _unitLine = new int[units];
        _unitPrice = new decimal[units];
        _lineOriginal = new decimal[_lines.Count];
        for (var i = 0; i < _lines.Count; i++)
        {
            Array.Fill(_unitLine, i, _firstUnit[i], _lines[i].Quantity);
            Array.Fill(_unitPrice, _lines[i].UnitPrice, _firstUnit[i], _lines[i].Quantity);
            _lineOriginal[i] = _lines[i].UnitPrice * _lines[i].Quantity;
        }

        _unitDiscount = new decimal[units];
        _consumed = new bool[units];
        _proposed = new decimal[units];
        _lineItemDiscount = new decimal[_lines.Count];
        _lineOrderDiscount = new decimal[_lines.Count];
        _lineWeights = new long[_lines.Count];
        _lineParts = new long[_lines.Count];
        _capRoomAtStart = maxOrderDiscount is { } cap ? rounding.Floor(cap) : decimal.MaxValue;
        SavingBySlot = new decimal[candidateCount];
        Shortfalls = new Shortfall?[candidateCount];
        GiftAdded = new bool[candidateCount];
        _sortKeys = new long[units];
        Reset();
    }

    public MoneyRounding Rounding { get; }

    /// <summary>When set, adjustments, gifts and notes are kept for the explanation (the final evaluation only).</summary>
    public bool Recording { get; set; }

    public decimal ItemDiscount { get; private set; }

    public decimal OrderDiscount { get; private set; }

    public decimal ShippingDiscount { get; private set; }

    public decimal Saving => ItemDiscount + OrderDiscount + ShippingDiscount;

    public decimal[] SavingBySlot { get; }

    public Shortfall?[] Shortfalls { get; }

    public bool[] GiftAdded { get; }

    public List<RecordedAdjustment> Adjustments { get; } = [];

    public List<GiftLine> Gifts { get; } = [];

    public List<string> Notes { get; } = [];

    public int UnitCount => _unitDiscount.Length;

    public int FirstUnit(int line) => _firstUnit[line];

    public decimal UnitDiscount(int unit) => _unitDiscount[unit];

    public decimal LineOrderDiscount(int line) => _lineOrderDiscount[line];

    public void Reset()
    {
        Array.Clear(_unitDiscount);
        Array.Clear(_consumed);
        Array.Clear(_lineItemDiscount);
        Array.Clear(_lineOrderDiscount);
        Array.Clear(SavingBySlot);
        Array.Clear(Shortfalls);
        Array.Clear(GiftAdded);
        ItemDiscount = OrderDiscount = ShippingDiscount = 0m;
        _capRoom = _capRoomAtStart;
        Adjustments.Clear();
        Gifts.Clear();
        Notes.Clear();
    }

    /// <summary>Applies the included candidates in application (rank) order and returns the total saving.</summary>
    public static int EvaluationCount;

    public decimal Evaluate(IReadOnlyList<Candidate> candidates, ReadOnlySpan<bool> included)
    {
        EvaluationCount++;
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

    public void Apply(Candidate candidate, int slot)
    {
        var promotion = candidate.Promotion;
        foreach (var condition in promotion.Conditions)
        {
            // Discounted-basis spend is only known once earlier promotions have applied.
            if (condition.Definition is Condition.MinimumSpend { Basis: SpendBasis.Discounted } spend)
            {
                var measured = 0m;
                for (var line = 0; line < _lines.Count; line++)
                {
                    if (condition.Items.Matches(_lines[line]))
                    {
                        measured += LineNet(line);
                    }
                }

                if (measured < spend.Amount)
                {
                    Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, spend.Amount - measured, RewardEstimate.For(promotion.Definition, spend.Amount));
                    return;
                }
            }
        }

        var room = promotion.Definition.MaxDiscount ?? decimal.MaxValue;
        var saving = 0m;
        for (var r = 0; r < promotion.Rewards.Length; r++)
        {
            saving += ApplyReward(candidate, slot, r, ref room);
        }

        SavingBySlot[slot] = saving;
    }

    private decimal ApplyReward(Candidate candidate, int slot, int rewardIndex, ref decimal room)
    {
        var definition = candidate.Promotion.Definition;
        var reward = candidate.Promotion.Rewards[rewardIndex];
        var targets = candidate.TargetLines[rewardIndex];
        var fromOriginal = definition.StackingBase == StackingBase.OriginalPrice;
        switch (reward.Definition)
        {
            case Reward.PercentOffItems r:
                ProposePerUnit(targets, UnitRule.Percent, r.Percent, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.AmountOffItems r:
                ProposePerUnit(targets, UnitRule.Amount, r.Amount, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.FixedPricePerItem r:
                ProposePerUnit(targets, UnitRule.Price, r.Price, fromOriginal, null);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.MemberPrice when _context.MemberTier is { } tier && reward.MemberTiers!.Contains(tier):
                ProposePerUnit(targets, UnitRule.Price, 0m, fromOriginal, reward.MemberPrices);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.MemberPrice:
                Shortfalls[slot] = new Shortfall(OutcomeReason.NotTargeted, 0m, null, "memberTier");
                return 0m;
            case Reward.BuyXGetY r:
                ProposeBuyXGetY(r, targets, candidate.GetLines[rewardIndex], fromOriginal);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.BundlePrice r:
                ProposeBundles(r, targets);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.NthItemDiscount r:
                ProposeNthItems(r, targets, fromOriginal);
                return CommitItems(slot, definition.Id, ref room);
            case Reward.PercentOffOrder r:
                return ApplyOrderDiscount(slot, definition.Id, targets, Rounding.Round(Subtotal(targets, fromOriginal) * r.Percent / 100m), ref room);
            case Reward.AmountOffOrder r:
                return ApplyOrderDiscount(slot, definition.Id, targets, r.Amount, ref room);
            case Reward.SpendTiers r:
                {
                    var measured = Subtotal(targets, r.Basis == SpendBasis.Original);
                    SpendTier? reached = null;
                    foreach (var tier in r.Tiers)
                    {
                        if (measured >= tier.Threshold)
                        {
                            reached = tier;
                        }
                    }

                    if (reached is null)
                    {
                        var first = r.Tiers[0];
                        Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, first.Threshold - measured, TierSaving(first, first.Threshold));
                        return 0m;
                    }

                    return ApplyOrderDiscount(slot, definition.Id, targets, TierSaving(reached, measured), ref room);
                }

            case Reward.SpendEvery r:
                {
                    var measured = Subtotal(targets, r.Basis == SpendBasis.Original);
                    var times = decimal.Floor(measured / r.Every);
                    if (r.MaxApplications is { } max)
                    {
                        times = Math.Min(times, max);
                    }

                    if (times == 0)
                    {
                        Shortfalls[slot] = new Shortfall(OutcomeReason.MinimumSpendNotMet, r.Every - measured, r.Save);
                        return 0m;
                    }

                    return ApplyOrderDiscount(slot, definition.Id, targets, times * r.Save, ref room);
                }

            case Reward.FreeGift r:
                GiftAdded[slot] = true;
                if (Recording)
                {
                    Gifts.Add(new GiftLine(definition.Id, r.Sku, r.Quantity, 0m));
                }

                return 0m;
            case Reward.ShippingDiscount r:
                {
                    var remaining = _shipping - ShippingDiscount;
                    var amount = r.Kind switch
                    {
                        DiscountKind.Free => remaining,
                        DiscountKind.Percent => Rounding.Round((fromOriginal ? _shipping : remaining) * r.Value / 100m),
                        _ => r.Value,
                    };
                    amount = Math.Min(Math.Min(amount, remaining), Rounding.Floor(room));
                    if (amount <= 0)
                    {
                        return 0m;
                    }

                    ShippingDiscount += amount;
                    room -= amount;
                    return amount;
                }

            default:
                throw new NotSupportedException(reward.Definition.GetType().Name);
        }
    }

    private decimal TierSaving(SpendTier tier, decimal measured) =>
        tier.Amount ?? Rounding.Round(measured * (tier.Percent ?? 0m) / 100m);

    private enum UnitRule
    {
        Percent,
        Amount,
        Price,
    }

    /// <summary>Proposes the same rule for every unit of the lines: percent off, amount off, or a price (member prices per sku).</summary>
    private void ProposePerUnit(int[] lines, UnitRule rule, decimal value, bool fromOriginal, IReadOnlyDictionary<string, decimal>? pricesBySku)
    {
        foreach (var line in lines)
        {
            var price = pricesBySku is null ? value : pricesBySku[_lines[line].Sku];
            var lastBase = -1m;
            var discount = 0m;
            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
            {
                // Units of a line usually share their price: compute the rounded discount once per distinct price.
                var unitBase = Base(unit, fromOriginal);
                if (unitBase != lastBase)
                {
                    lastBase = unitBase;
                    discount = rule switch
                    {
                        UnitRule.Percent => Rounding.Round(unitBase * value / 100m),
                        UnitRule.Amount => value,
                        _ => unitBase - price,
                    };
                }

                Propose(unit, discount);
            }
        }
    }

    private decimal UnitNet(int unit) => _unitPrice[unit] - _unitDiscount[unit] - _proposed[unit];

    private decimal Base(int unit, bool fromOriginal) => fromOriginal ? _unitPrice[unit] : UnitNet(unit);

    private decimal LineNet(int line) => _lineOriginal[line] - _lineItemDiscount[line] - _lineOrderDiscount[line];

    private decimal Subtotal(int[] lines, bool original)
    {
        var sum = 0m;
        foreach (var line in lines)
        {
            sum += original ? _lineOriginal[line] : LineNet(line);
        }

        return sum;
    }

    /// <summary>Proposes a discount for one unit, never more than what is left of its price (the clamp is noted).</summary>
    private void Propose(int unit, decimal discount)
    {
        var net = UnitNet(unit);
        if (discount > net)
        {
            if (Recording)
            {
                Notes.Add(string.Create(CultureInfo.InvariantCulture, $"A discount on line {_lines[_unitLine[unit]].LineId} was clamped so the unit price does not go below zero."));
            }

            discount = net;
        }

        if (discount <= 0)
        {
            return;
        }

        if (_proposed[unit] == 0)
        {
            _touched.Add(unit);
        }

        _proposed[unit] += discount;
    }

    /// <summary>Applies the proposed unit discounts, cut down to the promotion's and the order's remaining caps.</summary>
    private decimal CommitItems(int slot, string promotionId, ref decimal room)
    {
        var total = 0m;
        foreach (var unit in _touched)
        {
            total += _proposed[unit];
        }

        var limit = Rounding.Floor(Math.Min(room, _capRoom));
        if (total > limit)
        {
            if (Recording)
            {
                Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{promotionId} was capped at {limit} ({(room <= _capRoom ? "promotion" : "order")} maximum)."));
            }

            ScaleProposed(limit);
            total = limit;
        }

        if (Recording)
        {
            RecordItemAdjustments(slot);
        }

        foreach (var unit in _touched)
        {
            _unitDiscount[unit] += _proposed[unit];
            _lineItemDiscount[_unitLine[unit]] += _proposed[unit];
            _proposed[unit] = 0m;
        }

        _touched.Clear();
        ItemDiscount += total;
        _capRoom -= total;
        room -= total;
        return total;
    }

    private void ScaleProposed(decimal limit)
    {
        var weights = new long[_touched.Count];
        var parts = new long[_touched.Count];
        for (var i = 0; i < _touched.Count; i++)
        {
            weights[i] = Rounding.ToMinor(_proposed[_touched[i]]);
        }

        LargestRemainder.Allocate(Rounding.ToMinor(limit), weights, parts);
        for (var i = 0; i < _touched.Count; i++)
        {
            _proposed[_touched[i]] = Rounding.FromMinor(parts[i]);
        }
    }

    private void RecordItemAdjustments(int slot)
    {
        // Touched units are grouped per line: one adjustment per line with the number of units it reached.
        _touched.Sort();
        var i = 0;
        while (i < _touched.Count)
        {
            var line = _unitLine[_touched[i]];
            var amount = 0m;
            var units = 0;
            for (; i < _touched.Count && _unitLine[_touched[i]] == line; i++)
            {
                if (_proposed[_touched[i]] > 0)
                {
                    amount += _proposed[_touched[i]];
                    units++;
                }
            }

            if (amount > 0)
            {
                Adjustments.Add(new RecordedAdjustment(slot, line, amount, units));
            }
        }
    }

    private decimal ApplyOrderDiscount(int slot, string promotionId, int[] lines, decimal amount, ref decimal room)
    {
        amount = Rounding.Round(amount);
        var limit = Rounding.Floor(Math.Min(room, _capRoom));
        if (amount > limit)
        {
            if (Recording)
            {
                Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{promotionId} was capped at {limit} ({(room <= _capRoom ? "promotion" : "order")} maximum)."));
            }

            amount = limit;
        }

        var net = 0m;
        Array.Clear(_lineWeights);
        foreach (var line in lines)
        {
            var lineNet = LineNet(line);
            _lineWeights[line] = Rounding.ToMinor(lineNet);
            net += lineNet;
        }

        if (amount > net)
        {
            if (Recording)
            {
                Notes.Add(string.Create(CultureInfo.InvariantCulture, $"{promotionId} was clamped to {net} so the order total does not go below zero."));
            }

            amount = net;
        }

        if (amount <= 0)
        {
            return 0m;
        }

        // Largest remainder over the lines' current totals: the line parts sum exactly to the order discount.
        LargestRemainder.Allocate(Rounding.ToMinor(amount), _lineWeights, _lineParts);
        for (var line = 0; line < _lines.Count; line++)
        {
            if (_lineParts[line] > 0)
            {
                var part = Rounding.FromMinor(_lineParts[line]);
                _lineOrderDiscount[line] += part;
                if (Recording)
                {
                    Adjustments.Add(new RecordedAdjustment(slot, line, part, 0));
                }
            }
        }

        OrderDiscount += amount;
        _capRoom -= amount;
        room -= amount;
        return amount;
    }

    /// <summary>
    /// The lines' units not yet used by a unit reward, by current price (ties by position, for determinism). Sorted as
    /// one long per unit (price in minor units, then unit index) because decimal comparisons dominated the search's cost.
    /// </summary>
    private List<int> AvailableUnits(int[] lines, List<int> into, bool dearestFirst)
    {
        var count = 0;
        foreach (var line in lines)
        {
            for (var unit = _firstUnit[line]; unit < _firstUnit[line + 1]; unit++)
            {
                if (!_consumed[unit])
                {
                    var net = Rounding.ToMinor(UnitNet(unit));
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

    private decimal Discount(int unit, DiscountKind kind, decimal value, bool fromOriginal) => kind switch
    {
        DiscountKind.Free => UnitNet(unit),
        DiscountKind.Percent => Rounding.Round(Base(unit, fromOriginal) * value / 100m),
        _ => value,
    };

    private void ProposeBuyXGetY(Reward.BuyXGetY r, int[] buyLines, int[]? getLines, bool fromOriginal)
    {
        var applications = 0;
        var max = r.MaxApplications ?? int.MaxValue;
        if (getLines is null)
        {
            // Same set: sort by price, take groups of X+Y; within each group the cheapest (or dearest) Y are discounted.
            var units = AvailableUnits(buyLines, _unitScratch, dearestFirst: true);
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
                    Propose(units[i], Discount(units[i], r.Discount, r.Value, fromOriginal));
                }
            }

            return;
        }

        // Different sets: each application takes Y "get" units (cheapest or dearest first), then X "buy" units, dearest first.
        var buys = AvailableUnits(buyLines, _unitScratch, dearestFirst: true);
        var gets = AvailableUnits(getLines, _getScratch, dearestFirst: r.Choose == UnitChoice.MostExpensive);
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
                Propose(taken[i], Discount(taken[i], r.Discount, r.Value, fromOriginal));
            }

            applications++;
        }
    }

    private void ProposeBundles(Reward.BundlePrice r, int[] lines)
    {
        // Dearest units first: that is where a fixed bundle price saves the most.
        var units = AvailableUnits(lines, _unitScratch, dearestFirst: true);
        var max = r.MaxApplications ?? int.MaxValue;
        Span<long> weights = stackalloc long[Math.Min(r.Quantity, 64)];
        Span<long> parts = stackalloc long[Math.Min(r.Quantity, 64)];
        for (int start = 0, applications = 0; start + r.Quantity <= units.Count && applications < max && r.Quantity <= 64; start += r.Quantity, applications++)
        {
            var sum = 0m;
            for (var i = 0; i < r.Quantity; i++)
            {
                var net = UnitNet(units[start + i]);
                weights[i] = Rounding.ToMinor(net);
                sum += net;
            }

            if (sum <= r.Price)
            {
                return;
            }

            LargestRemainder.Allocate(Rounding.ToMinor(Rounding.Round(sum - r.Price)), weights, parts);
            for (var i = 0; i < r.Quantity; i++)
            {
                var unit = units[start + i];
                _consumed[unit] = true;
                Propose(unit, Rounding.FromMinor(parts[i]));
            }
        }
    }

    private void ProposeNthItems(Reward.NthItemDiscount r, int[] lines, bool fromOriginal)
    {
        var units = AvailableUnits(lines, _unitScratch, dearestFirst: true);
        var max = r.MaxApplications ?? int.MaxValue;
        for (int end = r.N - 1, applications = 0; end < units.Count && applications < max; end += r.N, applications++)
        {
            for (var i = end - r.N + 1; i <= end; i++)
            {
                _consumed[units[i]] = true;
            }

            Propose(units[end], Rounding.Round(Base(units[end], fromOriginal) * r.Percent / 100m));
        }
    }
}

/// <summary>A promotion's amount on one line during the final evaluation; Units = 0 for an allocated order discount.</summary>
internal readonly record struct RecordedAdjustment(int Slot, int Line, decimal Amount, int Units);

/// <summary>Why a chosen promotion gave nothing at application time (discounted-basis spend, tiers not reached, member tier).</summary>
internal sealed record Shortfall(OutcomeReason Reason, decimal Missing, decimal? PotentialSaving, string? Detail = null);
