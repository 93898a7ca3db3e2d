namespace Serverless.Promotions.Engine.Results;

public sealed record GiftLine(string PromotionId, string Sku, int Quantity, decimal UnitPrice);
