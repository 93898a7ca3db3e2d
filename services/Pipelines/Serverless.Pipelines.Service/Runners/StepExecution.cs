using Serverless.Pipelines.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>How a runner's attempt ended, with the outputs it produced.</summary>
public sealed record StepExecution(StepOutcome Outcome, IReadOnlyDictionary<string, string> Outputs, string? Error)
{
    public static StepExecution Succeeded(IReadOnlyDictionary<string, string>? outputs = null) => new(StepOutcome.Succeeded, outputs ?? new Dictionary<string, string>(), null);

    public static StepExecution Failed(string error) => new(StepOutcome.Failed, new Dictionary<string, string>(), error);
}
