namespace Serverless.Pipelines.Expressions;

/// <summary>
/// The values an expression can read, and the facts behind the status functions. Built by
/// <see cref="Runs.RunStateMachine.ContextFor"/> for a step of a run; tests build it directly.
/// </summary>
public sealed record ExpressionContext
{
    public static readonly ExpressionContext Empty = new();

    public IReadOnlyDictionary<string, object?> Parameters { get; init; } = new Dictionary<string, object?>();

    public IReadOnlyDictionary<string, object?> Trigger { get; init; } = new Dictionary<string, object?>();

    public IReadOnlyDictionary<string, object?> Run { get; init; } = new Dictionary<string, object?>();

    public IReadOnlyDictionary<string, StepContext> Steps { get; init; } = new Dictionary<string, StepContext>();

    /// <summary>
    /// <c>success()</c> (together with not <see cref="Cancelled"/>): every step in <c>needs</c> succeeded — a skipped
    /// need is not success, as in GitHub Actions. For a finally step, also no normal step failed or was cancelled.
    /// </summary>
    public bool NeedsSucceeded { get; init; } = true;

    /// <summary><c>failure()</c>: some step upstream (transitively, so across skipped steps) failed.</summary>
    public bool UpstreamFailed { get; init; }

    /// <summary><c>cancelled()</c>: the run was asked to cancel.</summary>
    public bool Cancelled { get; init; }
}
