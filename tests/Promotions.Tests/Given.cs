using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;

namespace Promotions.Tests;

/// <summary>Small builders so each test reads as the retail rule it checks.</summary>
internal static class Given
{
    public static readonly DateTimeOffset Noon = new(2026, 6, 10, 12, 0, 0, TimeSpan.Zero);

    public static BasketLine Line(string id, string sku, int quantity, decimal price, string? category = null, string? brand = null, params string[] tags) =>
        new(id, sku, quantity, price) { Categories = category is null ? [] : [category], Brand = brand, Tags = tags };

    public static Basket Basket(params BasketLine[] lines) => new("EUR", lines);

    public static PromotionDefinition Item(string id, Reward reward, int priority = 0) =>
        new() { Id = id, Name = id, Priority = priority, Class = StackingClass.Item, Rewards = [reward] };

    public static PromotionDefinition Order(string id, Reward reward, int priority = 0) =>
        new() { Id = id, Name = id, Priority = priority, Class = StackingClass.Order, Rewards = [reward] };

    public static PromotionDefinition Shipping(string id, Reward reward, int priority = 0) =>
        new() { Id = id, Name = id, Priority = priority, Class = StackingClass.Shipping, Rewards = [reward] };

    public static ItemPredicate Skus(params string[] skus) => new ItemPredicate.Sku(skus);

    public static ItemPredicate Categories(params string[] categories) => new ItemPredicate.Category(categories);

    public static PricingResult Price(Basket basket, params PromotionDefinition[] promotions) =>
        PromotionSnapshot.Compile(promotions).Calculate(basket, new PricingContext(Noon));

    public static PricingResult Price(Basket basket, PricingContext context, PricingOptions? options, params PromotionDefinition[] promotions) =>
        PromotionSnapshot.Compile(promotions, options).Calculate(basket, context);

    public static PromotionOutcome Outcome(this PricingResult result, string id) => result.Promotions.Single(p => p.PromotionId == id);

    public static LineResult LineOf(this PricingResult result, string id) => result.Lines.Single(l => l.LineId == id);
}
