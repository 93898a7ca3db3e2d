using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Money;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed class BestDealTests
{
    /// <summary>
    /// The search against brute force. Feasible combinations: members pairwise combinable, and every candidate that
    /// conflicts with nobody included (unless an exclusive one applies alone); best deal settles conflicts, it does not
    /// drop promotions that conflict with nothing. Every feasible subset is evaluated with the same basket evaluator
    /// (application order is fixed by class, priority and id, so subsets are the whole choice). The grouped branch and
    /// bound must find the same saving and, on ties, the same preferred combination.
    /// </summary>
    [Fact]
    public void Best_deal_matches_a_brute_force_oracle_on_random_small_baskets()
    {
        var checkedCases = 0;
        for (var seed = 0; seed < 4000; seed++)
        {
            var random = new Random(seed);
            var basket = RandomBaskets.Basket(random);
            var definitions = RandomBaskets.Promotions(random, random.Next(2, 11));
            var rounding = new MoneyRounding(2, RoundingMode.HalfEven);
            var candidates = new List<Candidate>();
            var ids = new AttributeIds();
            foreach (var definition in definitions.OrderBy(d => d.Class).ThenByDescending(d => d.Priority).ThenBy(d => d.Id, StringComparer.Ordinal))
            {
                EligibilityGate.Check(new CompiledPromotion(definition, ids), basket, LineFacts.For(basket, ids), new PricingContext(Noon), new LocalClock(Noon), rounding, out var candidate);
                if (candidate is not null)
                {
                    candidates.Add(candidate);
                }
            }

            var state = new PricingState(basket, LineFacts.For(basket, ids), new PricingContext(Noon), rounding, null, candidates.Count);
            var (chosen, mode) = BestDealSearch.Choose(candidates, state, PricingOptions.Default, basket.Lines.Count, orderCapped: false);
            var found = state.Evaluate(candidates, chosen);
            var groups = BestDealSearch.ConflictGroups(candidates, basket.Lines.Count, orderCapped: false);
            var mustApply = Enumerable.Range(0, candidates.Count)
                .Select(slot => !candidates[slot].Promotion.Definition.Exclusive && !groups.Any(g => g.Contains(slot)))
                .ToArray();
            var (oracle, oracleValue) = BruteForce(candidates, mustApply, state);

            Assert.True(oracleValue == found, $"seed {seed}: oracle {oracleValue} [{Show(oracle)}], search {found} [{Show(chosen)}] ({mode}) {System.Text.Json.JsonSerializer.Serialize(basket)} {string.Join(" | ", candidates.Select(c => Serverless.Promotions.Engine.Definitions.PromotionJson.Serialize([c.Promotion.Definition])))}");
            Assert.True(oracle.SequenceEqual(chosen), $"seed {seed}: tie-break differs: oracle [{Show(oracle)}], search [{Show(chosen)}]");
            checkedCases += candidates.Count > 1 ? 1 : 0;
        }

        Assert.True(checkedCases > 2000, $"only {checkedCases} cases had a choice to make");
    }

    private static (bool[] Chosen, decimal Value) BruteForce(List<Candidate> candidates, bool[] mustApply, PricingState state)
    {
        var n = candidates.Count;
        bool[]? best = null;
        var bestValue = -1m;
        for (var mask = 0; mask < 1 << n; mask++)
        {
            var set = Enumerable.Range(0, n).Select(i => (mask & (1 << i)) != 0).ToArray();
            var combinable = Enumerable.Range(0, n).All(i => !set[i] || Enumerable.Range(0, n).All(j => i == j || !set[j] || candidates[i].Promotion.CombinesWith(candidates[j].Promotion)));
            var exclusiveAlone = Enumerable.Range(0, n).Any(i => set[i] && candidates[i].Promotion.Definition.Exclusive);
            if (!combinable || (!exclusiveAlone && Enumerable.Range(0, n).Any(i => mustApply[i] && !set[i])))
            {
                continue;
            }

            var value = state.Evaluate(candidates, set);
            if (value > bestValue || (value == bestValue && OraclePrefers(candidates, set, best!)))
            {
                (best, bestValue) = (set, value);
            }
        }

        return (best!, bestValue);
    }

    /// <summary>
    /// The branch-and-bound bound for a unit reward: measured with nothing else applied, it must bound what the reward
    /// saves in every combination (otherwise the search could prune the best deal). Found by review: a buy-X-get-Y with
    /// separate sets discounted "buy" units, which the ceiling (the best "get" units) did not cover.
    /// </summary>
    [Fact]
    public void The_unit_reward_ceiling_bounds_what_the_reward_saves_in_every_combination()
    {
        var bounded = 0;
        for (var seed = 0; seed < 1500; seed++)
        {
            var random = new Random(seed);
            var basket = RandomBaskets.Basket(random, maxLines: 5);
            var definitions = RandomBaskets.Promotions(random, random.Next(1, 7));
            definitions.Add(Item("sep", new Serverless.Promotions.Engine.Definitions.Reward.BuyXGetY(
                random.Next(1, 3), random.Next(1, 3), Skus("a", "b", "c"), Categories(random.Next(2) == 0 ? "x" : "y")), priority: random.Next(0, 3)));
            var rounding = new MoneyRounding(2, RoundingMode.HalfEven);
            var ids = new AttributeIds();
            var candidates = new List<Candidate>();
            foreach (var definition in definitions.OrderBy(d => d.Class).ThenByDescending(d => d.Priority).ThenBy(d => d.Id, StringComparer.Ordinal))
            {
                EligibilityGate.Check(new CompiledPromotion(definition, ids), basket, LineFacts.For(basket, ids), new PricingContext(Noon), new LocalClock(Noon), rounding, out var candidate);
                if (candidate is not null)
                {
                    candidates.Add(candidate);
                }
            }

            var n = candidates.Count;
            var state = new PricingState(basket, LineFacts.For(basket, ids), new PricingContext(Noon), rounding, null, n);
            state.Evaluate(candidates, new bool[n]);
            var ceilings = candidates.Select(c => c.Promotion.ConsumesUnits ? state.UnitRewardCeiling(c) : decimal.MaxValue).ToArray();
            for (var mask = 1; mask < 1 << n; mask++)
            {
                var set = Enumerable.Range(0, n).Select(i => (mask & (1 << i)) != 0).ToArray();
                state.Evaluate(candidates, set);
                for (var slot = 0; slot < n; slot++)
                {
                    if (set[slot] && candidates[slot].Promotion.ConsumesUnits)
                    {
                        Assert.True(state.SavingOf(slot) <= ceilings[slot], $"seed {seed}: {candidates[slot].Promotion.Id} saved {state.SavingOf(slot)} in [{Show(set)}], ceiling {ceilings[slot]}");
                        bounded += state.SavingOf(slot) > 0 ? 1 : 0;
                    }
                }
            }
        }

        Assert.True(bounded > 1000, $"only {bounded} unit-reward savings checked");
    }

    /// <summary>
    /// The documented tie-break, written out independently of the engine: of two combinations that save the same, the
    /// one holding the highest-priority promotion among those where they differ (then the lowest id) wins.
    /// </summary>
    private static bool OraclePrefers(List<Candidate> candidates, bool[] a, bool[] b)
    {
        var decider = Enumerable.Range(0, a.Length)
            .Where(i => a[i] != b[i])
            .OrderByDescending(i => candidates[i].Promotion.Definition.Priority)
            .ThenBy(i => candidates[i].Promotion.Definition.Id, StringComparer.Ordinal)
            .Select(i => (int?)i)
            .FirstOrDefault();
        return decider is { } slot && a[slot];
    }

    private static string Show(bool[] set) => string.Join(",", set.Select(b => b ? 1 : 0));

    [Fact]
    public void Exclusive_promotions_are_weighed_alone_against_the_best_combination_without_a_search_limit()
    {
        var promotions = Enumerable.Range(1, 40)
            .Select(i => Item($"x{i:00}", new Serverless.Promotions.Engine.Definitions.Reward.AmountOffItems(i)) with { Exclusive = true })
            .Append(Item("a", new Serverless.Promotions.Engine.Definitions.Reward.AmountOffItems(30m)))
            .Append(Order("b", new Serverless.Promotions.Engine.Definitions.Reward.AmountOffOrder(15m)))
            .ToArray();

        var result = Price(Basket(Line("1", "a", 1, 100m)), promotions);

        Assert.Equal(SearchMode.Exact, result.Search);
        Assert.Equal(45m, result.TotalDiscount);
        Assert.Equal(OutcomeReason.LostBestDeal, result.Outcome("x40").Reason);
    }

    [Fact]
    public void Beyond_the_exact_limit_the_greedy_heuristic_decides_and_says_so()
    {
        // 20 promotions that combine with nothing: one conflict group larger than the 16 the exact search takes.
        var promotions = Enumerable.Range(1, 20)
            .Select(i => Item($"p{i:00}", new Serverless.Promotions.Engine.Definitions.Reward.AmountOffItems(i)) with { CombinesWith = [] })
            .ToArray();

        var result = Price(Basket(Line("1", "a", 1, 100m)), promotions);

        Assert.Equal(SearchMode.Greedy, result.Search);
        Assert.Equal(20m, result.ItemDiscount);
        Assert.Equal("p20", result.Outcome("p19").RelatedPromotionId);
    }

    [Fact]
    public void The_evaluation_bound_stops_the_search_with_the_best_found()
    {
        // Twelve identical "any 2 for 15.00" bundles competing for the same four units: every combination saves 10.00,
        // so the bound never prunes and the search would visit thousands of combinations.
        var promotions = Enumerable.Range(1, 12)
            .Select(i => Item($"p{i:00}", new Serverless.Promotions.Engine.Definitions.Reward.BundlePrice(2, 15m)))
            .ToArray();
        var basket = Basket(Line("1", "a", 4, 10m));

        var bounded = Price(basket, new PricingContext(Noon), new PricingOptions { MaxSearchEvaluations = 4 }, promotions);
        var full = Price(basket, new PricingContext(Noon), new PricingOptions { MaxSearchEvaluations = 5000 }, promotions);

        Assert.Equal(SearchMode.Greedy, bounded.Search);
        Assert.Equal(10m, bounded.ItemDiscount);
        Assert.True(bounded.Outcome("p01").Applied);
        Assert.True(bounded.Evaluations < 40, $"{bounded.Evaluations} evaluations");
        Assert.Equal(SearchMode.Exact, full.Search);
        Assert.Equal(10m, full.ItemDiscount);
    }
}
