using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>
/// How one attempt ended. <see cref="Lost"/>: its runner died (the lease expired, or the runner started it again), so
/// this attempt never reported.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<AttemptOutcome>))]
public enum AttemptOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
    Lost,
}
