using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Money;

[JsonConverter(typeof(JsonStringEnumConverter<RoundingMode>))]
public enum RoundingMode
{
    /// <summary>Banker's rounding: 0.125 → 0.12, 0.135 → 0.14.</summary>
    HalfEven,
    HalfUp,
}
