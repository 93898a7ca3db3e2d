using System.Text.Json;
using System.Text.Json.Serialization;

namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// Limits the ledger enforces at commit (null = unlimited). Amounts are in the currency of the baskets committed.
/// Per-customer limits count only orders that name a customer.
/// </summary>
public sealed record PromotionBudget(decimal? TotalDiscount = null, long? TotalUses = null, long? PerCustomer = null, long? PerCouponCode = null);

/// <summary>One vendor's share (0–1, at most 6 decimals) of a promotion's discount. The retailer pays what the vendors' shares leave.</summary>
public sealed record PromotionFunding(string Vendor, decimal Share)
{
    /// <summary>Shares are split in millionths: 0.333333 is a valid share, 0.3333333 is not.</summary>
    public const long ShareScale = 1_000_000;
}

/// <summary>
/// Reads funding as a list of vendors or, as the API first accepted it (and records written then hold it), as one
/// {vendor, share} object; always writes the list.
/// </summary>
public sealed class FundingListConverter : JsonConverter<IReadOnlyList<PromotionFunding>>
{
    public override IReadOnlyList<PromotionFunding>? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.StartObject => [JsonSerializer.Deserialize<PromotionFunding>(ref reader, options)!],
        _ => JsonSerializer.Deserialize<List<PromotionFunding>>(ref reader, options),
    };

    public override void Write(Utf8JsonWriter writer, IReadOnlyList<PromotionFunding> value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        writer.WriteStartArray();
        foreach (var funding in value)
        {
            JsonSerializer.Serialize(writer, funding, options);
        }

        writer.WriteEndArray();
    }
}
