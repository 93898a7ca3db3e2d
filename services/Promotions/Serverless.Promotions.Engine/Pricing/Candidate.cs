using Serverless.Promotions.Engine.Compilation;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>A promotion that passed every static gate for this basket, with the lines each of its rewards can touch.</summary>
internal sealed class Candidate(CompiledPromotion promotion, int[][] targetLines, int[]?[] getLines)
{
    public CompiledPromotion Promotion { get; private set; } = promotion;

    /// <summary>The promotion's place in the snapshot's application order (set by the snapshot; explanations sort by it).</summary>
    public int Rank { get; set; }

    /// <summary>Per reward: indices of the lines its target matcher accepts.</summary>
    public int[][] TargetLines { get; private set; } = targetLines;

    /// <summary>Per reward: for buy X get Y with a separate "get" set, the lines it accepts.</summary>
    public int[]?[] GetLines { get; private set; } = getLines;

    /// <summary>Saving when applied alone on top of the uncontested promotions (the search's branching order).</summary>
    public decimal StandaloneSaving { get; set; }

    /// <summary>Most it can add to any combination in its conflict group (the branch-and-bound bound).</summary>
    public decimal Ceiling { get; set; }

    /// <summary>The most any combination holding it was found to save (search bookkeeping for <see cref="LostOnTie"/>).</summary>
    public decimal BestWith { get; set; } = decimal.MinValue;

    /// <summary>Not chosen, though a combination holding it saves as much as the chosen one: it lost the tie-break (exact search only).</summary>
    public bool LostOnTie { get; set; }

    /// <summary>The presented code that unlocked it (see <see cref="Results.PromotionOutcome.Coupon"/>), or null.</summary>
    public string? Coupon { get; set; }

    /// <summary>Set up again for another calculation (see <see cref="CalculationScratch"/>).</summary>
    public void Reuse(CompiledPromotion promotion, int[][] targetLines, int[]?[] getLines)
    {
        Promotion = promotion;
        Rank = 0;
        TargetLines = targetLines;
        GetLines = getLines;
        StandaloneSaving = 0m;
        Ceiling = 0m;
        BestWith = decimal.MinValue;
        LostOnTie = false;
        Coupon = null;
    }

}
