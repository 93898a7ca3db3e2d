using Serverless.Promotions.Engine.Compilation;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Engine.Pricing;

/// <summary>
/// Per-thread storage for what a calculation builds and drops again: line facts, candidates and their line lists.
/// <see cref="Begin"/> hands everything handed out by the previous calculation on this thread back, so nothing from
/// here may outlive a calculation (results copy what they keep). Arrays are handed out at their exact length, as the
/// engine's code expects, from one free list per length.
/// </summary>
internal sealed class CalculationScratch
{
    [ThreadStatic]
    private static CalculationScratch? t_current;

    private readonly Pool<int[]> _lines = new(static length => new int[length]);
    private readonly Pool<int[][]> _targets = new(static length => new int[length][]);
    private readonly Pool<int[]?[]> _gets = new(static length => new int[]?[length]);
    private readonly List<Candidate> _candidates = [];
    private int _candidatesUsed;
    private LineFacts[] _facts = [];

    /// <summary>Baskets with more lines get throwaway scratch, so a rare huge basket does not stay in memory with the thread.</summary>
    public const int MaxReusedLines = 256;

    /// <summary>The calling thread's scratch, emptied for a new calculation (a new instance for a basket above <see cref="MaxReusedLines"/>).</summary>
    public static CalculationScratch Begin(int lineCount)
    {
        if (lineCount > MaxReusedLines)
        {
            return new CalculationScratch();
        }

        var scratch = t_current ??= new CalculationScratch();
        scratch._lines.Reset();
        scratch._targets.Reset();
        scratch._gets.Reset();
        scratch._candidatesUsed = 0;
        scratch.Rejected.Clear();
        scratch.CandidateList.Clear();
        scratch.RejectedRanks.Clear();
        return scratch;
    }

    /// <summary>The calculation's candidates in rank order.</summary>
    public List<Candidate> CandidateList { get; } = [];

    /// <summary>Outcomes of the promotions the eligibility gate turned away (copied into the result).</summary>
    public List<PromotionOutcome> Rejected { get; } = [];

    /// <summary>Their ranks, in the same order.</summary>
    public List<int> RejectedRanks { get; } = [];

    /// <summary>Facts for the basket's lines in the first Lines.Count entries (the array may be longer).</summary>
    public LineFacts[] Facts(Basket basket, AttributeIds ids)
    {
        var count = basket.Lines.Count;
        if (_facts.Length < count)
        {
            var grown = new LineFacts[Math.Max(count, _facts.Length * 2)];
            _facts.CopyTo(grown, 0);
            for (var i = _facts.Length; i < grown.Length; i++)
            {
                grown[i] = LineFacts.Empty();
            }

            _facts = grown;
        }

        for (var i = 0; i < count; i++)
        {
            _facts[i].Fill(basket.Lines[i], ids);
        }

        return _facts;
    }

    public int[] Lines(int length) => length == 0 ? [] : _lines.Rent(length);

    public int[][] Targets(int rewards) => _targets.Rent(rewards);

    public int[]?[] Gets(int rewards)
    {
        var gets = _gets.Rent(rewards);
        Array.Clear(gets);
        return gets;
    }

    public Candidate Candidate(CompiledPromotion promotion, int[][] targetLines, int[]?[] getLines)
    {
        if (_candidatesUsed == _candidates.Count)
        {
            _candidates.Add(new Candidate(promotion, targetLines, getLines));
        }
        else
        {
            _candidates[_candidatesUsed].Reuse(promotion, targetLines, getLines);
        }

        return _candidates[_candidatesUsed++];
    }

    private sealed class Pool<T>(Func<int, T> create)
        where T : class
    {
        private List<T>[] _free = [];
        private int[] _used = [];

        public T Rent(int length)
        {
            if (length >= _free.Length)
            {
                var size = Math.Max(length + 1, _free.Length * 2);
                Array.Resize(ref _free, size);
                Array.Resize(ref _used, size);
            }

            var free = _free[length] ??= [];
            if (_used[length] == free.Count)
            {
                free.Add(create(length));
            }

            return free[_used[length]++];
        }

        public void Reset() => Array.Clear(_used);
    }
}
