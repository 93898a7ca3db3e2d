using System.Text.Json;

namespace Serverless.Promotions.Engine.Definitions;

/// <summary>The one JSON shape for definitions and snapshots, shared by the service and offline POS.</summary>
public static class PromotionJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static string Serialize(IReadOnlyList<PromotionDefinition> definitions) => JsonSerializer.Serialize(definitions, Options);

    public static IReadOnlyList<PromotionDefinition> Deserialize(string json) =>
        JsonSerializer.Deserialize<List<PromotionDefinition>>(json, Options) ?? [];
}
