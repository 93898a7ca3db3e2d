using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// Chooses which eligible promotions apply so the customer saves the most.
/// <para>
/// Promotions that conflict with nobody always apply. A candidate is <em>contested</em> when it cannot be combined
/// with another candidate (exclusive, or stacking classes that do not combine), when it competes with another
/// buy-X-get-Y / bundle / Nth-item reward for the same lines' units, or when it measures a discounted subtotal that an
/// earlier promotion on the same lines could lower.
/// </para>
/// <para>
/// Up to <see cref="PricingOptions.MaxExactCandidates"/> contested candidates (16 by default): exact branch and bound
/// over include/exclude in application order. The bound is the uncontested saving plus every compatible candidate's
/// standalone saving (a promotion never saves more next to others than alone). Ties go to the combination that includes
/// the higher-ranked promotion at the first difference (priority, then id ordinal). At most
/// <see cref="PricingOptions.MaxSearchEvaluations"/> basket evaluations; beyond either limit the greedy heuristic
/// decides: contested candidates by standalone saving (then rank), each added when compatible and it raises the total.
/// </para>
/// </summary>
internal static class BestDealSearch
{
    public static (bool[] Chosen, SearchMode Mode) Choose(IReadOnlyList<Candidate> candidates, PricingState state, PricingOptions options, int lineCount)
    {
        var n = candidates.Count;
        var chosen = new bool[n];
        var contested = MarkContested(candidates, lineCount);
        var contestedSlots = new List<int>();
        for (var slot = 0; slot < n; slot++)
        {
            chosen[slot] = !contested[slot];
            if (contested[slot])
            {
                contestedSlots.Add(slot);
            }
        }

        if (contestedSlots.Count == 0)
        {
            return (chosen, SearchMode.NoConflict);
        }

        var baseline = state.Evaluate(candidates, chosen);
        foreach (var slot in contestedSlots)
        {
            chosen[slot] = true;
            candidates[slot].StandaloneSaving = state.Evaluate(candidates, chosen) - baseline;
            chosen[slot] = false;
        }

        var (greedy, greedyValue) = Greedy(candidates, contestedSlots, chosen, baseline, state);
        if (contestedSlots.Count > options.MaxExactCandidates)
        {
            return (greedy, SearchMode.Greedy);
        }

        var search = new BranchAndBound(candidates, contestedSlots, state, options.MaxSearchEvaluations, baseline, lineCount, greedy, greedyValue, chosen);
        search.Run(0, 0m);
        return (search.Best, search.Exhausted ? SearchMode.Greedy : SearchMode.Exact);
    }

    internal static bool[] MarkContested(IReadOnlyList<Candidate> candidates, int lineCount)
    {
        var n = candidates.Count;
        var contested = new bool[n];
        for (var a = 0; a < n; a++)
        {
            for (var b = a + 1; b < n; b++)
            {
                if (!candidates[a].Promotion.CombinesWith(candidates[b].Promotion))
                {
                    contested[a] = contested[b] = true;
                }
            }
        }

        // Unit consumers sharing a line compete for its units.
        var consumerOnLine = new int[lineCount];
        Array.Fill(consumerOnLine, -1);
        for (var slot = 0; slot < n; slot++)
        {
            var candidate = candidates[slot];
            if (!candidate.Promotion.ConsumesUnits)
            {
                continue;
            }

            foreach (var line in TouchedLines(candidate))
            {
                if (consumerOnLine[line] >= 0 && consumerOnLine[line] != slot)
                {
                    contested[slot] = contested[consumerOnLine[line]] = true;
                }

                consumerOnLine[line] = slot;
            }
        }

        // A discounted-basis threshold can be lost to an earlier promotion on the same lines.
        for (var slot = 0; slot < n; slot++)
        {
            if (!candidates[slot].Promotion.DependsOnDiscountedPrices)
            {
                continue;
            }

            contested[slot] = true;
            for (var earlier = 0; earlier < slot; earlier++)
            {
                // Conditions may measure lines the rewards do not target, so any earlier discount on the basket counts.
                if (candidates[earlier].Promotion.Definition.Class != StackingClass.Shipping)
                {
                    contested[earlier] = true;
                }
            }
        }

        return contested;
    }

    private static IEnumerable<int> TouchedLines(Candidate candidate)
    {
        for (var r = 0; r < candidate.TargetLines.Length; r++)
        {
            if (!candidate.Promotion.Rewards[r].ConsumesUnits)
            {
                continue;
            }

            foreach (var line in candidate.TargetLines[r])
            {
                yield return line;
            }

            foreach (var line in candidate.GetLines[r] ?? [])
            {
                yield return line;
            }
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

    /// <summary>True when <paramref name="a"/> includes the higher-ranked candidate at the first slot where the two differ.</summary>
    internal static bool Preferred(bool[] a, bool[] b)
    {
        for (var slot = 0; slot < a.Length; slot++)
        {
            if (a[slot] != b[slot])
            {
                return a[slot];
            }
        }

        return false;
    }

    private sealed class BranchAndBound(
        IReadOnlyList<Candidate> candidates,
        List<int> contestedSlots,
        PricingState state,
        int maxEvaluations,
        decimal baseline,
        int lineCount,
        bool[] incumbent,
        decimal incumbentValue,
        bool[] fixedSet)
    {
        // Rounding can make a combination save a few minor units more than the sum of its parts: never prune on that.
        private readonly decimal _slack = state.Rounding.MinorUnit * (candidates.Count + 1) * (lineCount + 1);
        private readonly bool[] _current = (bool[])fixedSet.Clone();
        private decimal _bestValue = incumbentValue;
        private int _evaluations;

        public bool[] Best { get; private set; } = incumbent;

        public bool Exhausted { get; private set; }

        public void Run(int depth, decimal includedStandalone)
        {
            if (Exhausted)
            {
                return;
            }

            if (depth == contestedSlots.Count)
            {
                if (++_evaluations > maxEvaluations)
                {
                    Exhausted = true;
                    return;
                }

                var value = state.Evaluate(candidates, _current);
                if (value > _bestValue || (value == _bestValue && Preferred(_current, Best)))
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
                    bound += Math.Max(0m, candidates[contestedSlots[k]].StandaloneSaving);
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
                Run(depth + 1, includedStandalone + Math.Max(0m, candidates[slot].StandaloneSaving));
                _current[slot] = false;
            }

            Run(depth + 1, includedStandalone);
        }
    }
}
