namespace Serverless.Promotions.Engine.Definitions;

/// <summary>Who and where. Every empty list means "any".</summary>
public sealed record PromotionTargeting
{
    public IReadOnlyList<SalesChannel> Channels { get; init; } = [];

    public IReadOnlyList<string> StoreIds { get; init; } = [];

    public IReadOnlyList<string> Regions { get; init; } = [];

    /// <summary>The customer must be in at least one of these segments.</summary>
    public IReadOnlyList<string> Segments { get; init; } = [];

    public IReadOnlyList<string> MemberTiers { get; init; } = [];

    public bool FirstOrderOnly { get; init; }
}

/// <summary>
/// The promotion needs a coupon. Static codes are listed here; generated batch codes are validated by the service,
/// which passes the ones it accepted for this promotion in <see cref="Pricing.PricingContext.ValidatedCoupons"/>.
/// </summary>
public sealed record CouponRequirement
{
    public IReadOnlyList<string> Codes { get; init; } = [];
}
