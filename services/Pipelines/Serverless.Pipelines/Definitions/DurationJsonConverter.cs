using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>Writes TimeSpans as pipeline durations ("30s", "1h30m") so stored JSON reads like the document.</summary>
public sealed class DurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Durations.TryParse(reader.GetString(), out var duration) ? duration : throw new JsonException($"'{reader.GetString()}' is not a duration such as \"30s\" or \"5m\".");

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(Durations.Format(value));
    }
}
