namespace Serverless.Promotions.Service.Catalog;

/// <summary>
/// Limits the ledger enforces at commit (null = unlimited). Amounts are in the currency of the baskets committed.
/// Per-customer limits count only orders that name a customer.
/// </summary>
public sealed record PromotionBudget(decimal? TotalDiscount = null, long? TotalUses = null, long? PerCustomer = null, long? PerCouponCode = null);

/// <summary>Who pays for the discount: a vendor's share (0–1); the retailer pays the rest.</summary>
public sealed record PromotionFunding(string Vendor, decimal Share);
