namespace Serverless.Promotions.Engine.Results;

/// <summary>How the best deal was chosen.</summary>
public enum SearchMode
{
    /// <summary>No conflicts: every eligible promotion applied.</summary>
    NoConflict,

    /// <summary>Branch and bound over the conflicting candidates: the best combination.</summary>
    Exact,

    /// <summary>Too many conflicting candidates or the evaluation bound was hit: greedy by standalone saving (or the best found within the bound).</summary>
    Greedy,
}
