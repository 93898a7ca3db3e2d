using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>Parameters are a list in the model (order kept) and a mapping by name in documents and stored JSON.</summary>
public sealed class ParameterMapJsonConverter : JsonConverter<IReadOnlyList<ParameterSpec>>
{
    public override IReadOnlyList<ParameterSpec> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var map = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(ref reader, options) ?? [];
        return map.Select(p => p.Value.Deserialize<ParameterBody>(options)!.ToSpec(p.Key)).ToList();
    }

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<ParameterSpec> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartObject();
        foreach (var parameter in value)
        {
            writer.WritePropertyName(parameter.Name);
            JsonSerializer.Serialize(writer, ParameterBody.From(parameter), options);
        }

        writer.WriteEndObject();
    }

    private sealed record ParameterBody(ParameterType Type, JsonElement? Default, bool Required, IReadOnlyList<string>? Options, string? Description)
    {
        public static ParameterBody From(ParameterSpec spec) => new(spec.Type, spec.Default, spec.Required, spec.Options.Count == 0 ? null : spec.Options, spec.Description);

        public ParameterSpec ToSpec(string name) => new() { Name = name, Type = Type, Default = Default, Required = Required, Options = Options ?? [], Description = Description };
    }
}
