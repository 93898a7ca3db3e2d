using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

[JsonConverter(typeof(JsonStringEnumConverter<ApprovalTimeoutOutcome>))]
public enum ApprovalTimeoutOutcome
{
    [JsonStringEnumMemberName("reject")] Reject,
    [JsonStringEnumMemberName("approve")] Approve,
}
