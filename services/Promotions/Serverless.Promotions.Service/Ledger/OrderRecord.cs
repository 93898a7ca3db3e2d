using System.Text.Json.Serialization;
using Serverless.Promotions.Engine.Results;

namespace Serverless.Promotions.Service.Ledger;

[JsonConverter(typeof(JsonStringEnumConverter<OrderStatus>))]
public enum OrderStatus
{
    Committed,
    Cancelled,
}

/// <summary>What one order took from one promotion, and how much of it returns have given back so far.</summary>
public sealed record Consumption(string PromotionId, decimal Discount, long Units, string? Coupon)
{
    public decimal ReleasedDiscount { get; init; }

    public long ReleasedUnits { get; init; }

    public bool UseReleased { get; init; }
}

/// <summary>
/// A committed order (created once: the key is create-only, so a repeated commit of the same request finds it and
/// changes nothing; the same order id with a different request is refused).
/// The priced result is kept so a repeat gets the same answer and returns can be released line by line.
/// </summary>
public sealed record OrderRecord(
    string OrderId,
    OrderStatus Status,
    DateTimeOffset CommittedAt,
    string Store,
    string Channel,
    string Day,
    string? Customer,
    PricingResult Result,
    IReadOnlyList<Consumption> Consumptions)
{
    /// <summary>Units returned so far per line id.</summary>
    public IReadOnlyDictionary<string, int> Returned { get; init; } = new Dictionary<string, int>(StringComparer.Ordinal);

    /// <summary>Return ids already applied (a repeated return changes nothing).</summary>
    public IReadOnlyList<string> Returns { get; init; } = [];

    public DateTimeOffset? CancelledAt { get; init; }

    /// <summary>
    /// Digest of the committed request (see <see cref="OrderDigest"/>): a commit of the same order id with another digest
    /// is refused. Null on orders stored before it was kept (those are taken to match).
    /// </summary>
    public string? RequestDigest { get; init; }
}

/// <summary>Body of POST /orders: the order id (idempotency key) and what calculate would get. AcceptRecalculated commits even when a limit removed a promotion.</summary>
public sealed record OrderCommit(string? OrderId, Pricing.CalculationRequest? Order, bool AcceptRecalculated = false);

/// <summary>Body of POST /orders/{id}/cancel: no lines = cancel everything; lines = a partial return identified by returnId.</summary>
public sealed record OrderReturn(string? ReturnId, IReadOnlyList<ReturnLine>? Lines);

public sealed record ReturnLine(string LineId, int Quantity);
