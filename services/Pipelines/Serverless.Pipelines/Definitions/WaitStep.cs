namespace Serverless.Pipelines.Definitions;

/// <summary>Waits <see cref="Duration"/>; the run state machine handles it with a timer, no runner involved.</summary>
public sealed record WaitStep : StepSpec
{
    public required TimeSpan Duration { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "wait";
}
