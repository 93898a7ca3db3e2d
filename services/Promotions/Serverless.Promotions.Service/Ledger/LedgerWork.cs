using System.Text.Json;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Active;

namespace Serverless.Promotions.Service.Ledger;

/// <summary>One commit or release waiting for the ledger's committer; completed once its batch is written (or it needs no write).</summary>
internal abstract class LedgerWork(string orderId, DateTimeOffset at, CancellationToken cancellationToken)
{
    public string OrderId { get; } = orderId;

    public string OrderKey { get; } = PromotionKeys.Order(orderId);

    /// <summary>When the request arrived: the instant it is priced at (commits) or cancelled at (releases).</summary>
    public DateTimeOffset At { get; } = at;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public TaskCompletionSource<LedgerOutcome> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
}

/// <summary>A validated commit: the basket and context to price, and where the order's use is reported.</summary>
internal sealed class CommitWork(string orderId, DateTimeOffset at, Basket basket, PricingContext context, string? customer, bool acceptRecalculated, string store, string channel, string day, CancellationToken cancellationToken)
    : LedgerWork(orderId, at, cancellationToken)
{
    public Basket Basket { get; } = basket;

    public PricingContext Context { get; } = context;

    public string? Customer { get; } = customer;

    public bool AcceptRecalculated { get; } = acceptRecalculated;

    public string Store { get; } = store;

    public string Channel { get; } = channel;

    public string Day { get; } = day;

    /// <summary>What the request prices, canonically (see <see cref="OrderDigest"/>); kept with the order.</summary>
    public string? RequestDigest { get; init; }

    private Prepared? _prepared;

    /// <summary>The order priced against <paramref name="view"/> without the promotions it marks exhausted (kept: a batch run again on the same view does not price again).</summary>
    public PricingResult PriceIn(ActiveView view) => PrepareIn(view).Result;

    /// <summary>
    /// Prices the order against <paramref name="view"/> and makes its order record and JSON as they will be written when
    /// no limit gets in the way (the usual case). Called on the caller's thread before the order is queued, so the
    /// committer, which runs one batch at a time, does only the counting; it prepares again if the view moved meanwhile.
    /// </summary>
    public Prepared PrepareIn(ActiveView view)
    {
        var prepared = Volatile.Read(ref _prepared);
        if (prepared is null || !ReferenceEquals(prepared.View, view))
        {
            var result = view.Snapshot.Calculate(Basket, view.WithUsedUp(Context));
            var order = LedgerBatch.Order(this, result, [.. result.Promotions.Where(p => p.Applied).Select(p => LedgerBatch.Consumed(view, this, p, result))]);
            prepared = new Prepared(view, result, order, JsonSerializer.SerializeToUtf8Bytes(order, StateStoreJsonExtensions.JsonOptions));
            Volatile.Write(ref _prepared, prepared);
        }

        return prepared;
    }

    /// <summary>The price in one view, and the order record (with its JSON) that price gives when it commits as it is.</summary>
    internal sealed record Prepared(ActiveView View, PricingResult Result, OrderRecord Order, byte[] Json);
}

/// <summary>A validated cancel (no lines) or partial return.</summary>
internal sealed class ReleaseWork(string orderId, DateTimeOffset at, OrderReturn? request, CancellationToken cancellationToken)
    : LedgerWork(orderId, at, cancellationToken)
{
    public OrderReturn? Request { get; } = request;
}

/// <summary>
/// A state item a batch was given (read now, or remembered from an earlier batch), with its value parsed once. An item
/// the committer is still writing has no ETag yet: the next batch may be worked out on top of it, but is written only
/// once that write has given it its ETag.
/// </summary>
internal sealed class KnownItem
{
    private object? _parsed;

    private KnownItem(string key, ReadOnlyMemory<byte> json, string? etag, object? parsed) => (Key, Json, ETag, _parsed) = (key, json, etag, parsed);

    public string Key { get; }

    public ReadOnlyMemory<byte> Json { get; }

    /// <summary>Null while the write that makes this value is in flight.</summary>
    public string? ETag { get; private set; }

    public static KnownItem Read(StateItem item) => new(item.Key, item.Value, item.ETag, null);

    /// <summary>A value a batch is writing, with what it wrote already parsed; <see cref="Confirm"/> once the write is through.</summary>
    public static KnownItem Writing(string key, ReadOnlyMemory<byte> json, object value) => new(key, json, null, value);

    public void Confirm(string etag) => ETag = etag;

    public T Value<T>() => (T)(_parsed ??= JsonSerializer.Deserialize<T>(Json.Span, StateStoreJsonExtensions.JsonOptions)!);
}
