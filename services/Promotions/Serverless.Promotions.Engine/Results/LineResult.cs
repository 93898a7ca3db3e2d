namespace Serverless.Promotions.Engine.Results;

/// <summary>A line after promotions. Units are split into groups where they ended at different prices (e.g. 1 of 3 free).</summary>
public sealed record LineResult(
    string LineId,
    string Sku,
    int Quantity,
    decimal OriginalUnitPrice,
    decimal OriginalTotal,
    IReadOnlyList<LineAdjustment> Adjustments,
    IReadOnlyList<UnitPriceGroup> Units,
    decimal FinalTotal);
