namespace Serverless.Promotions.Engine.Pricing;

/// <summary>What is being priced. Prices are unit prices in <see cref="Currency"/>; every line must use the basket's currency.</summary>
public sealed record Basket(string Currency, IReadOnlyList<BasketLine> Lines, decimal ShippingAmount = 0m);

public sealed record BasketLine(string LineId, string Sku, int Quantity, decimal UnitPrice)
{
    /// <summary>When set, must equal the basket currency (mixed currencies are rejected by validation).</summary>
    public string? Currency { get; init; }

    public IReadOnlyList<string> Categories { get; init; } = [];

    public string? Brand { get; init; }

    public IReadOnlyList<string> Tags { get; init; } = [];
}
