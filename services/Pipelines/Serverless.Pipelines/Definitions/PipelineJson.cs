using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>
/// The System.Text.Json settings for definitions (and run state): camelCase, durations as "30s", parameters as
/// a mapping, nulls left out. What <see cref="Serialize"/> writes, <see cref="Parsing.PipelineParser.ParseJson"/> reads back.
/// </summary>
public static class PipelineJson
{
    public static JsonSerializerOptions Options { get; } = CreateOptions();

    public static string Serialize(PipelineDefinition definition) => JsonSerializer.Serialize(definition, Options);

    public static PipelineDefinition? Deserialize(string json) => JsonSerializer.Deserialize<PipelineDefinition>(json, Options);

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            AllowOutOfOrderMetadataProperties = true,
            WriteIndented = false,
        };
        options.Converters.Add(new DurationJsonConverter());
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
