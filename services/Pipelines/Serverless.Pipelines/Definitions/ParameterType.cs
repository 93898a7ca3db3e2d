using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

[JsonConverter(typeof(JsonStringEnumConverter<ParameterType>))]
public enum ParameterType
{
    [JsonStringEnumMemberName("string")] Text,
    [JsonStringEnumMemberName("number")] Number,
    [JsonStringEnumMemberName("boolean")] Flag,
    [JsonStringEnumMemberName("choice")] Choice,
}
