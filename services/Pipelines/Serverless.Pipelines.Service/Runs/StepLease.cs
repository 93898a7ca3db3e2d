namespace Serverless.Pipelines.Service.Runs;

/// <summary>
/// A runner's claim on one dispatched attempt (<c>pipelines||lease||{run}||{step}||{attempt}</c>): which runner
/// instance executes it and until when the claim holds unless renewed. Written once per attempt (a second runner
/// finds it and leaves the attempt alone), renewed with its ETag, and <see cref="Ended"/> when the runner's final
/// report commits or the orchestrator declares the attempt lost. A due-index entry at <see cref="Until"/> lets the
/// orchestrator notice a lease nobody renewed.
/// </summary>
public sealed record StepLease(string RunId, string StepId, int Attempt, string Runner, DateTimeOffset Until)
{
    /// <summary>The attempt's result was recorded, or the orchestrator declared it lost: nothing to watch any more.</summary>
    public bool Ended { get; init; }

    /// <summary>Given up by a runner that was stopped gracefully (it expires at once): the attempt was handed over, not lost in a crash.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool HandedOver { get; init; }
}

/// <summary>A lease this runner holds: the stored value and the ETag its next write must match.</summary>
public sealed record HeldLease(StepLease Lease, string ETag);
