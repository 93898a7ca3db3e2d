using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Runs;

/// <summary>Where a step of a run stands. Succeeded, Failed, Skipped and Cancelled are terminal.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StepStatus>))]
public enum StepStatus
{
    Waiting,
    Queued,
    Running,
    AwaitingApproval,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}
