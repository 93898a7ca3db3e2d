using System.Text.Json.Serialization;

namespace Serverless.Promotions.Service.Catalog;

[JsonConverter(typeof(JsonStringEnumConverter<PromotionStatus>))]
public enum PromotionStatus
{
    Draft,
    Scheduled,
    Active,
    Paused,
    Ended,
    Settled,
}
