using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>What a runner reports about an attempt.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StepOutcome>))]
public enum StepOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}
