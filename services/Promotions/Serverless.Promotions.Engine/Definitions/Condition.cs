using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Definitions;

/// <summary>A qualification the basket must meet before any reward applies.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(MinimumSpend), "minimumSpend")]
[JsonDerivedType(typeof(MinimumQuantity), "minimumQuantity")]
public abstract record Condition
{
    /// <summary>Subtotal of the matching lines (all lines when Items is null) must reach Amount.</summary>
    public sealed record MinimumSpend(decimal Amount, SpendBasis Basis = SpendBasis.Original, ItemPredicate? Items = null) : Condition;

    /// <summary>Total units of the matching lines must reach Quantity.</summary>
    public sealed record MinimumQuantity(int Quantity, ItemPredicate? Items = null) : Condition;
}
