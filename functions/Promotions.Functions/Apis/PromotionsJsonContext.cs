using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>
/// Source-generated (de)serialisers for the promotions API: calculate's hot path never reflects, and every enum in a
/// priced basket (search mode, outcome reasons) is written as its name, the same in every response.
/// </summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(CalculationRequest))]
[JsonSerializable(typeof(PricingResult))]
[JsonSerializable(typeof(PromotionView))]
[JsonSerializable(typeof(PromotionPage))]
[JsonSerializable(typeof(OrderCommit))]
[JsonSerializable(typeof(OrderReturn))]
[JsonSerializable(typeof(OrderRecord))]
[JsonSerializable(typeof(BudgetConflict))]
[JsonSerializable(typeof(PromotionReport))]
[JsonSerializable(typeof(PromotionSettlement))]
[JsonSerializable(typeof(CouponBatchInput))]
[JsonSerializable(typeof(CouponBatchView))]
[JsonSerializable(typeof(CouponBatchList))]
[JsonSerializable(typeof(CouponLookup))]
internal sealed partial class PromotionsJsonContext : JsonSerializerContext
{
    /// <summary>
    /// Definitions are read by reflection: generated code sets every init-only property in one object initializer,
    /// so a property absent from the JSON would become null instead of keeping the engine's default (e.g. conditions = []).
    /// </summary>
    public static JsonTypeInfo<PromotionInput> PromotionInput { get; } =
        (JsonTypeInfo<PromotionInput>)new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = new DefaultJsonTypeInfoResolver(),

            // Day names ("Saturday") as GET shows them, or numbers (6) as the engine's own format writes them: both read back.
            Converters = { new JsonStringEnumConverter() },
        }.GetTypeInfo(typeof(PromotionInput));
}

/// <summary>A promotion as the API shows it: the record without its internal due-index keys, plus where it may move next.</summary>
public sealed record PromotionView(
    string Id,
    PromotionStatus Status,
    Serverless.Promotions.Engine.Definitions.PromotionDefinition Definition,
    PromotionBudget? Budget,
    IReadOnlyList<PromotionFunding>? Funding,
    long Revision,
    DateTimeOffset CreatedAt,
    DateTimeOffset UpdatedAt,
    DateTimeOffset? StartsAt,
    DateTimeOffset? EndsAt,
    DateTimeOffset? ActivatedAt,
    DateTimeOffset? EndedAt,
    DateTimeOffset? SettledAt,
    IReadOnlyList<PromotionStatus> AllowedTransitions)
{
    public static PromotionView From(PromotionRecord r) =>
        new(r.Id, r.Status, r.Definition, r.Budget, r.Funding, r.Revision, r.CreatedAt, r.UpdatedAt, r.StartsAt, r.EndsAt, r.ActivatedAt, r.EndedAt, r.SettledAt, PromotionLifecycle.Next(r.Status));
}

public sealed record PromotionPage(IReadOnlyList<PromotionView> Items, string? NextCursor);

/// <summary>409 problem+json of a commit that a budget or limit refused: the basket priced without the promotions that ran out.</summary>
public sealed record BudgetConflict(string Type, string Title, int Status, string Detail, string Instance, string TraceId, IReadOnlyList<string> Exhausted, PricingResult Recalculated);
