namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Stands in for a step whose kind or kind-specific fields could not be read, so the graph checks still see
/// its id and needs. Only ever part of a definition that has problems; never stored or run.
/// </summary>
internal sealed record UnreadableStep : StepSpec
{
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "unreadable";
}
