namespace Serverless.Pipelines.Definitions;

/// <summary>
/// A pipeline as saved: what starts it, how concurrent runs interact, its typed parameters, the steps (a DAG
/// through <see cref="StepSpec.Needs"/>) and the <c>finally</c> steps that run once every normal step is terminal.
/// </summary>
/// <remarks>
/// A run pins the definition it started with, so editing a pipeline never changes a run in flight. The same
/// shape is read from YAML and JSON (<see cref="Parsing.PipelineParser"/>) and written with System.Text.Json.
/// </remarks>
public sealed record PipelineDefinition
{
    public required string Name { get; init; }

    public IReadOnlyList<TriggerSpec> Triggers { get; init; } = [];

    public ConcurrencySpec? Concurrency { get; init; }

    [System.Text.Json.Serialization.JsonConverter(typeof(ParameterMapJsonConverter))]
    public IReadOnlyList<ParameterSpec> Parameters { get; init; } = [];

    public IReadOnlyList<StepSpec> Steps { get; init; } = [];

    public IReadOnlyList<StepSpec> Finally { get; init; } = [];

    /// <summary>Normal steps then finally steps, in document order.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<StepSpec> AllSteps => Steps.Concat(Finally);

    public StepSpec? FindStep(string id) => AllSteps.FirstOrDefault(s => string.Equals(s.Id, id, StringComparison.Ordinal));

    public bool IsFinally(string id) => Finally.Any(s => string.Equals(s.Id, id, StringComparison.Ordinal));
}
