using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>The new run, or every parameter problem that kept it from starting.</summary>
public sealed record StartResult(RunRecord? Run, IReadOnlyList<PipelineProblem> Problems)
{
    public bool Succeeded => Run is not null;

    /// <summary>Nothing started because the trigger's bookkeeping shows it was started before (a redelivered push, a schedule another instance fired).</summary>
    public bool Duplicate { get; init; }
}
