using System.Text.Json.Serialization;

namespace Serverless.Promotions.Engine.Definitions;

[JsonConverter(typeof(JsonStringEnumConverter<StackingClass>))]
public enum StackingClass
{
    Item,
    Order,
    Shipping,
}

[JsonConverter(typeof(JsonStringEnumConverter<StackingBase>))]
public enum StackingBase
{
    OriginalPrice,
    DiscountedPrice,
}

/// <summary>Which subtotal a spend threshold is measured against.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SpendBasis>))]
public enum SpendBasis
{
    Original,
    Discounted,
}

[JsonConverter(typeof(JsonStringEnumConverter<SalesChannel>))]
public enum SalesChannel
{
    Online,
    Pos,
    App,
}

/// <summary>Which units a buy-X-get-Y reward discounts when there is a choice.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<UnitChoice>))]
public enum UnitChoice
{
    Cheapest,
    MostExpensive,
}

[JsonConverter(typeof(JsonStringEnumConverter<DiscountKind>))]
public enum DiscountKind
{
    Free,
    Percent,
    Amount,
}
