namespace Serverless.Promotions.Engine.Results;

/// <summary>One promotion's effect on one line: Units is how many of the line's units it touched (0 for an allocated order discount).</summary>
public sealed record LineAdjustment(string PromotionId, decimal Amount, int Units);
