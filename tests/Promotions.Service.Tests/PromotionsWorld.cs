using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;
using Serverless.Promotions.Service.Pricing;
using Serverless.Testing;

namespace Promotions.Service.Tests;

/// <summary>The promotions service on a real state store of its own (SQLite or a fresh PostgreSQL schema), with a manual clock.</summary>
public sealed class PromotionsWorld : IAsyncDisposable
{
    private readonly TemporaryStateStore _store;

    private PromotionsWorld(TemporaryStateStore store, PromotionsOptions? options)
    {
        _store = store;
        Time = new ManualTime(new DateTimeOffset(2026, 6, 13, 12, 0, 0, TimeSpan.Zero));
        CouponSecret = new CouponSecret(store.Store);
        Active = new ActivePromotions(store.Store, Time, NullLogger<ActivePromotions>.Instance, CouponSecret, options?.Pricing);
        Catalog = new PromotionCatalog(store.Store, Time, Active, options ?? new PromotionsOptions());
        CouponBatches = new CouponBatches(Catalog, store.Store, CouponSecret);
        Ledger = new BudgetLedger(store.Store, Time, Active);
        Pricing = new PromotionPricing(Active, Time);
    }

    public ManualTime Time { get; }

    public ActivePromotions Active { get; }

    public PromotionCatalog Catalog { get; }

    public BudgetLedger Ledger { get; }

    public PromotionPricing Pricing { get; }

    public CouponSecret CouponSecret { get; }

    public CouponBatches CouponBatches { get; }

    public Serverless.BuildingBlocks.State.IStateStore State => _store.Store;

    /// <summary>The ledger of another instance on the same state (its own committer and its own remembered counters).</summary>
    public BudgetLedger OtherInstanceLedger() => new(_store.Store, Time, Active);

    /// <summary>
    /// Another whole instance on the same state: its own coupon secret (read from the store, never handed over), active
    /// snapshot, catalog, batches, pricing and ledger. Dispose its Active.
    /// </summary>
    public (ActivePromotions Active, CouponBatches CouponBatches, PromotionPricing Pricing, BudgetLedger Ledger) OtherInstance()
    {
        var secret = new CouponSecret(_store.Store);
        var active = new ActivePromotions(_store.Store, Time, NullLogger<ActivePromotions>.Instance, secret);
        var catalog = new PromotionCatalog(_store.Store, Time, active, new PromotionsOptions());
        return (active, new CouponBatches(catalog, _store.Store, secret), new PromotionPricing(active, Time), new BudgetLedger(_store.Store, Time, active));
    }

    public static async Task<PromotionsWorld> CreateAsync(string engine, PromotionsOptions? options = null) =>
        new(engine == "postgres" ? await TemporaryStateStore.PostgresAsync("promo") : await TemporaryStateStore.SqliteAsync(), options);

    /// <summary>Stores and activates a promotion, then reloads the active snapshot.</summary>
    public async Task<PromotionRecord> ActivateAsync(PromotionDefinition definition, PromotionBudget? budget = null, IReadOnlyList<PromotionFunding>? funding = null)
    {
        var put = await Catalog.PutAsync(definition.Id, new PromotionInput(definition, budget, funding));
        Assert.Null(put.Problems);
        var activated = await Catalog.TransitionAsync(definition.Id, PromotionStatus.Active);
        Assert.Equal(CatalogOutcomeKind.Ok, activated.Kind);
        await Active.RefreshAsync();
        return activated.Record!;
    }

    public static PromotionDefinition PercentOffCategory(string id, decimal percent, string category = "shoes") => new()
    {
        Id = id,
        Name = $"{percent} % off {category}",
        Rewards = [new Reward.PercentOffItems(percent, new ItemPredicate.Category([category]))],
    };

    /// <summary>Two shoes at 20: 10 % off gives a discount of 4.</summary>
    public static CalculationRequest Shoes(int quantity = 2, string store = "berlin-1", string? customer = null, IReadOnlyList<string>? coupons = null) => new()
    {
        Basket = new BasketInput { Currency = "EUR", Lines = [new LineInput { Sku = "sku-1", UnitPrice = 20m, Quantity = quantity, Category = "shoes", LineId = "l1" }, new LineInput { Sku = "sku-2", UnitPrice = 5m, Quantity = 1, Category = "socks", LineId = "l2" }] },
        Channel = "pos",
        Store = store,
        Customer = customer is null ? null : new CustomerInput { Id = customer },
        Coupons = coupons,
    };

    /// <summary>Takes every event waiting in the outbox (nothing relays them in these tests): (topic, data JSON) in commit order.</summary>
    public async Task<IReadOnlyList<(string Topic, System.Text.Json.JsonElement Data)>> TakeOutboxAsync()
    {
        var outbox = (Serverless.BuildingBlocks.State.IOutboxStore)_store.Store;
        var messages = await outbox.LeaseAsync(10_000, TimeSpan.FromMinutes(5));
        await outbox.CompleteAsync(messages.Select(m => m.Id).ToList());
        return [.. messages.OrderBy(m => m.Id).Select(m => (m.Topic, System.Text.Json.JsonDocument.Parse(m.CloudEventJson).RootElement.GetProperty("data").Clone()))];
    }

    public ValueTask DisposeAsync()
    {
        Active.Dispose();
        return _store.DisposeAsync();
    }
}
