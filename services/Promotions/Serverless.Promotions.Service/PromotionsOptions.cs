namespace Serverless.Promotions.Service;

/// <summary>Settings under <c>Promotions:</c>.</summary>
public sealed record PromotionsOptions
{
    /// <summary>How long after its end a promotion is settled (late returns still change its numbers until then).</summary>
    public TimeSpan SettlementGrace { get; init; } = TimeSpan.FromDays(1);

    /// <summary>How often each instance checks the catalog version (a change reaches calculate within this plus a reload).</summary>
    public TimeSpan RefreshInterval { get; init; } = TimeSpan.FromMilliseconds(250);
}
