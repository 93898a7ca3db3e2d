using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>How one attempt ended. <see cref="Lost"/>: the runner started it again (a crash), so this attempt never reported.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttemptOutcome>))]
public enum AttemptOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Lost,
}
