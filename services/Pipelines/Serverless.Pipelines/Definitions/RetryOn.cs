using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

[JsonConverter(typeof(JsonStringEnumConverter<RetryOn>))]
public enum RetryOn
{
    [JsonStringEnumMemberName("failure")] Failure,
    [JsonStringEnumMemberName("timeout")] Timeout,
}
