using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Definitions;

/// <summary>Which basket lines a condition or reward looks at. Combine with AllOf / AnyOf; exclude with Exclude.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(Sku), "sku")]
[JsonDerivedType(typeof(Category), "category")]
[JsonDerivedType(typeof(Brand), "brand")]
[JsonDerivedType(typeof(Tag), "tag")]
[JsonDerivedType(typeof(PriceRange), "priceRange")]
[JsonDerivedType(typeof(AllOf), "allOf")]
[JsonDerivedType(typeof(AnyOf), "anyOf")]
[JsonDerivedType(typeof(Exclude), "exclude")]
public abstract record ItemPredicate
{
    public sealed record Sku(IReadOnlyList<string> Values) : ItemPredicate;

    public sealed record Category(IReadOnlyList<string> Values) : ItemPredicate;

    public sealed record Brand(IReadOnlyList<string> Values) : ItemPredicate;

    public sealed record Tag(IReadOnlyList<string> Values) : ItemPredicate;

    /// <summary>Original unit price within [Min, Max] (either bound optional).</summary>
    public sealed record PriceRange(decimal? Min, decimal? Max) : ItemPredicate;

    public sealed record AllOf(IReadOnlyList<ItemPredicate> Predicates) : ItemPredicate;

    public sealed record AnyOf(IReadOnlyList<ItemPredicate> Predicates) : ItemPredicate;

    /// <summary>An exclusion, e.g. AllOf(Category shoes, Exclude(Brand premium)).</summary>
    public sealed record Exclude(ItemPredicate Predicate) : ItemPredicate;
}
