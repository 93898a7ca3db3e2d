using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>Writes TimeSpans as pipeline durations ("30s", "1h30m") so stored JSON reads like the document.</summary>
public sealed class DurationJsonConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Durations.TryReadStored(reader.GetString(), out var duration) ? duration : throw new JsonException($"'{reader.GetString()}' is {Durations.Problem(reader.GetString())} ({Durations.Rule}).");

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);

        // Never store what cannot be read back: an unreadable definition would be lost, and used to break triggers.
        if (!Durations.IsWholeMilliseconds(value))
        {
            throw new JsonException($"{value} is not a whole, non-negative number of milliseconds and could not be read back.");
        }

        writer.WriteStringValue(Durations.Format(value));
    }
}
