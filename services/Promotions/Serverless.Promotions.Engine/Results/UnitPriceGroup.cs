namespace Serverless.Promotions.Engine.Results;

/// <summary>Quantity units of the line at this unit price after item promotions (order discounts are allocated per line, not per unit).</summary>
public sealed record UnitPriceGroup(int Quantity, decimal UnitPrice);
