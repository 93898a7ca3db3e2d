using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// Chooses which eligible promotions apply so the customer saves the most.
/// <list type="number">
/// <item>Exclusive promotions only ever apply alone: each is weighed alone against the best combination of the
/// others (skipped when the value of what it targets cannot beat that combination).</item>
/// <item>Among the others, promotions that conflict with nobody always apply. A candidate is contested when it cannot
/// be combined with another (stacking classes), when it competes with another buy-X-get-Y / bundle / Nth-item reward
/// for a line's units, or when it measures a discounted subtotal an earlier discount could lower. Contested candidates
/// form conflict groups (see <see cref="ConflictGroups"/>) that do not interact and are decided one after another.</item>
/// <item>A group of up to <see cref="PricingOptions.MaxExactCandidates"/> (16) is searched exactly: branch and bound over
/// include/exclude, branching on the largest standalone saving first. The bound is the baseline plus each compatible
/// member's ceiling: its standalone saving for ordinary discounts (they only shrink next to others) and, for unit
/// rewards, the best units they could take at baseline prices (they can regroup for more when others take units).
/// Evaluation is always in application order; ties go to the combination that holds the higher-priority promotion
/// among those where the two differ (then the lower id, ordinal; the class plays no part).</item>
/// <item>Bounds: at most <see cref="PricingOptions.MaxSearchEvaluations"/> (512) basket evaluations per calculation;
/// when reached, the best combination found so far is kept. A group above 16 is decided greedily: members by
/// standalone saving (then rank), each added when compatible and it raises the total. Either way the result says
/// <see cref="SearchMode.Greedy"/>.</item>
/// </list>
/// A brute-force oracle test checks this against every feasible combination on thousands of random small baskets.
/// </summary>
internal static class BestDealSearch
{
    public static (bool[] Chosen, SearchMode Mode) Choose(IReadOnlyList<Candidate> candidates, PricingState state, PricingOptions options, int lineCount, bool orderCapped)
    {
        // An exclusive promotion can only ever apply alone, so it never needs to join the combinatorial search:
        // the best deal is the best combination of the others or one exclusive alone, whichever saves more.
        var (chosen, value, mode) = ChooseAmongNonExclusive(candidates, state, options, lineCount, orderCapped);
        var alone = new bool[candidates.Count];
        for (var slot = 0; slot < candidates.Count; slot++)
        {
            // Alone, a promotion can save at most the value of what it targets: no need to evaluate one that cannot win.
            if (!candidates[slot].Promotion.Definition.Exclusive || state.ValueCeiling(candidates[slot]) < value)
            {
                continue;
            }

            alone[slot] = true;
            var saving = state.Evaluate(candidates, alone);
            candidates[slot].BestWith = saving;
            if (saving > value || (saving == value && Preferred(candidates, alone, chosen)))
            {
                (chosen, value) = ((bool[])alone.Clone(), saving);
            }

            alone[slot] = false;
            mode = mode == SearchMode.NoConflict ? SearchMode.Exact : mode;
        }

        for (var slot = 0; slot < candidates.Count; slot++)
        {
            if (candidates[slot].Promotion.Definition.Exclusive)
            {
                candidates[slot].LostOnTie = !chosen[slot] && candidates[slot].BestWith == value;
            }
        }

        return (chosen, mode);
    }

    private static (bool[] Chosen, decimal Value, SearchMode Mode) ChooseAmongNonExclusive(IReadOnlyList<Candidate> candidates, PricingState state, PricingOptions options, int lineCount, bool orderCapped)
    {
        var n = candidates.Count;
        var chosen = new bool[n];
        var groups = ConflictGroups(candidates, lineCount, orderCapped);
        var inGroup = new bool[n];
        foreach (var group in groups)
        {
            foreach (var slot in group)
            {
                inGroup[slot] = true;
            }
        }

        for (var slot = 0; slot < n; slot++)
        {
            chosen[slot] = !inGroup[slot] && !candidates[slot].Promotion.Definition.Exclusive;
        }

        if (groups.Count == 0)
        {
            return (chosen, state.Evaluate(candidates, chosen), SearchMode.NoConflict);
        }

        // Groups are decided one after another, each with the earlier groups' choices in place and the later groups
        // left out. That is exact when the groups do not interact, which is what grouping ensures (see ConflictGroups).
        var mode = SearchMode.Exact;
        var budget = options.MaxSearchEvaluations;
        var value = 0m;
        foreach (var group in groups)
        {
            state.Checkpoint(candidates, chosen, group[0], group);
            var baseline = state.Evaluate(candidates, chosen);
            foreach (var slot in group)
            {
                // Measured on the baseline state, before the standalone evaluations below replace it.
                candidates[slot].Ceiling = candidates[slot].Promotion.ConsumesUnits ? state.UnitRewardCeiling(candidates[slot]) : -1m;
            }

            foreach (var slot in group)
            {
                chosen[slot] = true;
                var candidate = candidates[slot];
                candidate.StandaloneSaving = state.Evaluate(candidates, chosen) - baseline;
                candidate.Ceiling = candidate.Promotion.ConsumesUnits ? Math.Max(candidate.Ceiling, candidate.StandaloneSaving) : candidate.StandaloneSaving;
                chosen[slot] = false;
            }

            if (group.Count > options.MaxExactCandidates)
            {
                (chosen, value) = Greedy(candidates, group, chosen, baseline, state);
                mode = SearchMode.Greedy;
                continue;
            }

            // Branch on the biggest standalone savings first so a strong incumbent prunes early. Evaluation stays in
            // application order whatever the branching order, and ties are settled by Preferred, not by visit order.
            var branching = BranchingOrder(candidates, group);

            var search = new BranchAndBound(candidates, branching, state, budget, baseline, (bool[])chosen.Clone(), baseline, chosen);
            search.Run(0, 0m);
            budget = Math.Max(0, budget - search.Evaluations);
            chosen = search.Best;
            value = search.BestValue;
            foreach (var slot in group)
            {
                candidates[slot].LostOnTie = !chosen[slot] && candidates[slot].BestWith == value;
            }

            mode = search.Exhausted ? SearchMode.Greedy : mode;
        }

        state.ClearCheckpoint();
        return (chosen, value, mode);
    }

    /// <summary>Largest standalone saving first, then slot (a stable insertion sort: groups are small).</summary>
    private static List<int> BranchingOrder(IReadOnlyList<Candidate> candidates, List<int> group)
    {
        var order = new List<int>(group.Count);
        foreach (var slot in group)
        {
            var saving = candidates[slot].StandaloneSaving;
            var at = order.Count;
            while (at > 0 && (candidates[order[at - 1]].StandaloneSaving < saving || (candidates[order[at - 1]].StandaloneSaving == saving && order[at - 1] > slot)))
            {
                at--;
            }

            order.Insert(at, slot);
        }

        return order;
    }

    /// <summary>
    /// Contested candidates grouped so that different groups do not interact: two candidates share a group when they
    /// cannot be combined, when both use up units of the same line, or when one measures a discounted subtotal the
    /// other's discount lowers; and contested candidates touching the same line are decided together. Everything else is not a conflict and always applies (an item discount before a bundle
    /// on the same line simply stacks, even in the rare case where leaving it out would have saved a cent more). With a per-order cap, or an uncontested capped item promotion spanning groups, choices
    /// in one group change what another is worth, so those groups are merged.
    /// </summary>
    internal static List<List<int>> ConflictGroups(IReadOnlyList<Candidate> candidates, int lineCount, bool orderCapped)
    {
        // Union-find over slots and per-line bookkeeping, all scratch on the stack for everyday sizes; loops, not LINQ:
        // this runs once per calculation over every candidate pair.
        var n = candidates.Count;
        Span<int> parent = n <= 256 ? stackalloc int[n] : new int[n];
        Span<bool> contested = n <= 256 ? stackalloc bool[n] : new bool[n];
        contested.Clear();
        for (var i = 0; i < n; i++)
        {
            parent[i] = i;
        }

        StackingConflicts(candidates, parent, contested);

        Span<int> byLine = lineCount <= 1024 ? stackalloc int[lineCount] : new int[lineCount];
        byLine.Fill(-1);
        for (var slot = 0; slot < n; slot++)
        {
            var candidate = candidates[slot];
            if (!candidate.Promotion.ConsumesUnits || candidate.Promotion.Definition.Exclusive)
            {
                continue;
            }

            // The lines of its unit-consuming rewards (targets and "get" lines).
            for (var r = 0; r < candidate.TargetLines.Length; r++)
            {
                if (!candidate.Promotion.Rewards[r].ConsumesUnits)
                {
                    continue;
                }

                ConsumerOnLines(parent, contested, byLine, candidate.TargetLines[r], slot);
                if (candidate.GetLines[r] is { } gets)
                {
                    ConsumerOnLines(parent, contested, byLine, gets, slot);
                }
            }
        }

        for (var slot = 0; slot < n; slot++)
        {
            if (!candidates[slot].Promotion.DependsOnDiscountedPrices || candidates[slot].Promotion.Definition.Exclusive)
            {
                continue;
            }

            contested[slot] = true;
            for (var earlier = 0; earlier < slot; earlier++)
            {
                // Conditions may measure lines the rewards do not target, so any earlier discount on the basket counts.
                if (candidates[earlier].Promotion.Definition.Class != StackingClass.Shipping && !candidates[earlier].Promotion.Definition.Exclusive)
                {
                    Edge(parent, contested, slot, earlier);
                }
            }
        }

        var firstContested = contested.IndexOf(true);
        var groupOfLine = byLine;
        groupOfLine.Fill(-1);
        for (var slot = 0; slot < n; slot++)
        {
            if (!contested[slot])
            {
                continue;
            }

            if (orderCapped)
            {
                Union(parent, slot, firstContested);
            }

            // Contested candidates on the same line interact whatever their reason for being contested (a fixed price
            // chosen in one conflict is worth nothing under a bundle chosen in another), so they are decided together.
            var candidate = candidates[slot];
            for (var r = 0; r < candidate.TargetLines.Length; r++)
            {
                SameLineGroups(parent, groupOfLine, candidate.TargetLines[r], slot);
            }

            for (var r = 0; r < candidate.GetLines.Length; r++)
            {
                if (candidate.GetLines[r] is { } gets)
                {
                    SameLineGroups(parent, groupOfLine, gets, slot);
                }
            }
        }

        for (var slot = 0; slot < n; slot++)
        {
            var promotion = candidates[slot].Promotion;
            if (contested[slot] || promotion.Definition.MaxDiscount is null || promotion.Definition.Class != StackingClass.Item || promotion.Definition.Exclusive)
            {
                continue;
            }

            var first = -1;
            foreach (var lines in candidates[slot].TargetLines)
            {
                foreach (var line in lines)
                {
                    if (groupOfLine[line] >= 0)
                    {
                        first = first < 0 ? groupOfLine[line] : first;
                        Union(parent, first, groupOfLine[line]);
                    }
                }
            }
        }

        // Groups in order of their first slot, each ascending: walking the slots in order gives exactly that.
        var groups = new List<List<int>>();
        Span<int> groupOfRoot = n <= 256 ? stackalloc int[n] : new int[n];
        groupOfRoot.Fill(-1);
        for (var slot = 0; slot < n; slot++)
        {
            if (!contested[slot])
            {
                continue;
            }

            var root = Find(parent, slot);
            if (groupOfRoot[root] < 0)
            {
                groupOfRoot[root] = groups.Count;
                groups.Add([]);
            }

            groups[groupOfRoot[root]].Add(slot);
        }

        return groups;
    }

    /// <summary>
    /// An edge between every two non-exclusive candidates that cannot be combined. Whether two combine depends only on
    /// their classes and combines-with sets, and a basket has few such kinds: edges between every member of two
    /// incompatible kinds connect exactly all of them, so kinds are compared instead of all pairs.
    /// </summary>
    private static void StackingConflicts(IReadOnlyList<Candidate> candidates, Span<int> parent, Span<bool> contested)
    {
        const int MaxKinds = 32;
        var n = candidates.Count;
        Span<int> kindOf = n <= 256 ? stackalloc int[n] : new int[n];
        Span<int> representative = stackalloc int[MaxKinds];
        Span<int> members = stackalloc int[MaxKinds];
        var kinds = 0;
        for (var slot = 0; slot < n; slot++)
        {
            var promotion = candidates[slot].Promotion;
            kindOf[slot] = -1;
            if (promotion.Definition.Exclusive)
            {
                continue;
            }

            var kind = 0;
            while (kind < kinds && !SameKind(candidates[representative[kind]].Promotion, promotion))
            {
                kind++;
            }

            if (kind == kinds)
            {
                if (kinds == MaxKinds)
                {
                    // Not expected with three classes; fall back to every pair.
                    AllPairs(candidates, parent, contested);
                    return;
                }

                representative[kinds] = slot;
                members[kinds++] = 0;
            }

            kindOf[slot] = kind;
            members[kind]++;
        }

        Span<bool> conflicting = stackalloc bool[MaxKinds];
        conflicting.Clear();
        for (var i = 0; i < kinds; i++)
        {
            for (var j = i; j < kinds; j++)
            {
                if ((i != j || members[i] > 1) && !candidates[representative[i]].Promotion.CombinesWith(candidates[representative[j]].Promotion))
                {
                    conflicting[i] = conflicting[j] = true;
                    Union(parent, representative[i], representative[j]);
                }
            }
        }

        for (var slot = 0; slot < n; slot++)
        {
            if (kindOf[slot] >= 0 && conflicting[kindOf[slot]])
            {
                contested[slot] = true;
                Union(parent, slot, representative[kindOf[slot]]);
            }
        }
    }

    private static bool SameKind(CompiledPromotion a, CompiledPromotion b) =>
        a.Definition.Class == b.Definition.Class && a.CombinesWithMask == b.CombinesWithMask;

    private static void AllPairs(IReadOnlyList<Candidate> candidates, Span<int> parent, Span<bool> contested)
    {
        for (var a = 0; a < candidates.Count; a++)
        {
            var first = candidates[a].Promotion;
            if (first.Definition.Exclusive)
            {
                continue;
            }

            for (var b = a + 1; b < candidates.Count; b++)
            {
                var second = candidates[b].Promotion;
                if (!second.Definition.Exclusive && !first.CombinesWith(second))
                {
                    Edge(parent, contested, a, b);
                }
            }
        }
    }

    private static int Find(Span<int> parent, int x)
    {
        var root = x;
        while (parent[root] != root)
        {
            root = parent[root];
        }

        while (parent[x] != root)
        {
            (parent[x], x) = (root, parent[x]);
        }

        return root;
    }

    private static void Union(Span<int> parent, int a, int b) => parent[Find(parent, a)] = Find(parent, b);

    private static void Edge(Span<int> parent, Span<bool> contested, int a, int b)
    {
        contested[a] = contested[b] = true;
        Union(parent, a, b);
    }

    private static void ConsumerOnLines(Span<int> parent, Span<bool> contested, Span<int> consumerOnLine, int[] lines, int slot)
    {
        foreach (var line in lines)
        {
            if (consumerOnLine[line] >= 0 && consumerOnLine[line] != slot)
            {
                Edge(parent, contested, slot, consumerOnLine[line]);
            }

            consumerOnLine[line] = slot;
        }
    }

    private static void SameLineGroups(Span<int> parent, Span<int> groupOfLine, int[] lines, int slot)
    {
        foreach (var line in lines)
        {
            if (groupOfLine[line] >= 0)
            {
                Union(parent, slot, groupOfLine[line]);
            }

            groupOfLine[line] = slot;
        }
    }

    private static (bool[] Chosen, decimal Value) Greedy(IReadOnlyList<Candidate> candidates, List<int> contestedSlots, bool[] fixedSet, decimal baseline, PricingState state)
    {
        var order = contestedSlots.OrderByDescending(slot => candidates[slot].StandaloneSaving).ThenBy(slot => slot).ToList();
        var current = (bool[])fixedSet.Clone();
        var value = baseline;
        foreach (var slot in order)
        {
            if (!CompatibleWithChosen(candidates, current, slot))
            {
                continue;
            }

            current[slot] = true;
            var withIt = state.Evaluate(candidates, current);
            if (withIt > value)
            {
                value = withIt;
            }
            else
            {
                current[slot] = false;
            }
        }

        return (current, value);
    }

    internal static bool CompatibleWithChosen(IReadOnlyList<Candidate> candidates, bool[] chosen, int slot)
    {
        for (var other = 0; other < chosen.Length; other++)
        {
            if (chosen[other] && other != slot && !candidates[slot].Promotion.CombinesWith(candidates[other].Promotion))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The tie-break between two combinations that save the same: true when <paramref name="a"/> holds the promotion
    /// with the highest priority (then the lowest id, ordinal) among those where the two differ. Slots are in
    /// application order (class first), so the decider is searched for, not taken as the first difference.
    /// </summary>
    internal static bool Preferred(IReadOnlyList<Candidate> candidates, bool[] a, bool[] b)
    {
        var decider = -1;
        for (var slot = 0; slot < a.Length; slot++)
        {
            if (a[slot] != b[slot] && (decider < 0 || WinsTie(candidates[slot].Promotion.Definition, candidates[decider].Promotion.Definition)))
            {
                decider = slot;
            }
        }

        return decider >= 0 && a[decider];
    }

    /// <summary>Higher priority, then lower id (ordinal): who decides a tie between two combinations.</summary>
    internal static bool WinsTie(PromotionDefinition x, PromotionDefinition y) =>
        x.Priority > y.Priority || (x.Priority == y.Priority && string.CompareOrdinal(x.Id, y.Id) < 0);

    private sealed class BranchAndBound(
        IReadOnlyList<Candidate> candidates,
        List<int> contestedSlots,
        PricingState state,
        int maxEvaluations,
        decimal baseline,
        bool[] incumbent,
        decimal incumbentValue,
        bool[] fixedSet)
    {
        // Rounding can make a combination save a minor unit or so more than the sum of its parts: never prune on that.
        private readonly decimal _slack = state.Rounding.MinorUnit * (contestedSlots.Count + 1);
        private readonly bool[] _current = (bool[])fixedSet.Clone();
        private decimal _bestValue = incumbentValue;

        public decimal BestValue => _bestValue;
        private int _evaluations;

        public bool[] Best { get; private set; } = incumbent;

        public bool Exhausted { get; private set; }

        public int Evaluations => _evaluations;

        private int _mask;

        public void Run(int depth, decimal includedStandalone)
        {
            if (Exhausted)
            {
                return;
            }

            if (depth == contestedSlots.Count)
            {
                // Leaves already evaluated (none of the group: the baseline; one member alone: its standalone saving)
                // are not evaluated again. A mask with at most one bit set is one of those.
                decimal value;
                if (_mask == 0)
                {
                    value = baseline;
                }
                else if ((_mask & (_mask - 1)) == 0)
                {
                    value = baseline + candidates[contestedSlots[System.Numerics.BitOperations.TrailingZeroCount(_mask)]].StandaloneSaving;
                }
                else
                {
                    if (++_evaluations > maxEvaluations)
                    {
                        Exhausted = true;
                        return;
                    }

                    value = state.Evaluate(candidates, _current);
                }

                foreach (var member in contestedSlots)
                {
                    if (_current[member] && value > candidates[member].BestWith)
                    {
                        candidates[member].BestWith = value;
                    }
                }

                if (value > _bestValue || (value == _bestValue && Preferred(candidates, _current, Best)))
                {
                    _bestValue = value;
                    Best = (bool[])_current.Clone();
                }

                return;
            }

            var bound = baseline + includedStandalone + _slack;
            for (var k = depth; k < contestedSlots.Count; k++)
            {
                if (CompatibleWithChosen(candidates, _current, contestedSlots[k]))
                {
                    bound += Math.Max(0m, candidates[contestedSlots[k]].Ceiling);
                }
            }

            if (bound < _bestValue)
            {
                return;
            }

            var slot = contestedSlots[depth];
            if (CompatibleWithChosen(candidates, _current, slot))
            {
                _current[slot] = true;
                _mask |= 1 << depth;
                Run(depth + 1, includedStandalone + Math.Max(0m, candidates[slot].Ceiling));
                _mask &= ~(1 << depth);
                _current[slot] = false;
            }

            Run(depth + 1, includedStandalone);
        }
    }
}
