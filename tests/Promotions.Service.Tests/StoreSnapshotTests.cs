using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Export;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

public sealed class StoreSnapshotTests
{
    [Fact]
    public async Task The_export_for_a_store_prices_offline_exactly_as_the_service_does()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("shoes10", 10m));
        await world.ActivateAsync(new PromotionDefinition
        {
            Id = "socks-3for2", Name = "3 for 2 socks", Rewards = [new Reward.BuyXGetY(2, 1, new ItemPredicate.Category(["socks"]))],
        });
        await world.ActivateAsync(new PromotionDefinition
        {
            Id = "berlin-only", Name = "Berlin: 5 off over 30", Class = StackingClass.Order,
            Targeting = new PromotionTargeting { StoreIds = ["berlin-1"] }, Conditions = [new Condition.MinimumSpend(30m)], Rewards = [new Reward.AmountOffOrder(5m)],
        });
        await world.ActivateAsync(new PromotionDefinition
        {
            Id = "hamburg-only", Name = "Hamburg", Targeting = new PromotionTargeting { StoreIds = ["hamburg-2"] }, Rewards = [new Reward.PercentOffItems(50m)],
        });
        await world.ActivateAsync(new PromotionDefinition
        {
            Id = "online-only", Name = "Web", Targeting = new PromotionTargeting { Channels = [SalesChannel.Online] }, Rewards = [new Reward.PercentOffItems(50m)],
        });
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("spent", 30m, "socks"), new PromotionBudget(TotalDiscount: 3m));
        await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes() with { Basket = PromotionsWorld.Shoes().Basket! with { Lines = [new() { Sku = "sku-9", UnitPrice = 10m, Quantity = 1, Category = "socks" }] } }));
        await world.Active.RefreshAsync();

        var json = StoreSnapshot.For(world.Active.Current, "berlin-1", world.Time.GetUtcNow()).ToJson();
        var offline = StoreSnapshot.FromJson(json);
        Assert.Equal(["berlin-only", "shoes10", "socks-3for2", "spent"], offline.Promotions.Select(p => p.Id).Order());
        Assert.Equal(["spent"], offline.Exhausted);

        var snapshot = PromotionSnapshot.Compile(PromotionJson.Deserialize(JsonSerializer.Serialize(offline.Promotions, PromotionJson.Options)));
        var request = PromotionsWorld.Shoes(quantity: 3) with
        {
            Basket = new()
            {
                Currency = "EUR",
                Lines = [new() { Sku = "sku-1", UnitPrice = 20m, Quantity = 3, Category = "shoes", LineId = "l1" }, new() { Sku = "sku-2", UnitPrice = 4.99m, Quantity = 3, Category = "socks", LineId = "l2" }],
                ShippingAmount = 3.95m,
            },
        };
        var (basket, context, _) = request.ToPricing(world.Time.GetUtcNow());

        var service = world.Pricing.Calculate(request).Result!;
        var pos = snapshot.Calculate(basket!, context! with { ExhaustedPromotionIds = offline.Exhausted.ToHashSet() });

        // Identical prices, lines and explanation; the service's explanation also lists the promotions the export left
        // out because they cannot apply in this store on the POS channel (as NotTargeted), which the POS never sees.
        var exported = offline.Promotions.Select(p => p.Id).ToHashSet();
        Assert.All(service.Promotions.Where(p => !exported.Contains(p.PromotionId)), p => Assert.Equal(OutcomeReason.NotTargeted, p.Reason));
        var comparable = service with { Promotions = [.. service.Promotions.Where(p => exported.Contains(p.PromotionId))] };
        Assert.Equal(JsonSerializer.Serialize(comparable), JsonSerializer.Serialize(pos));
        Assert.True(service.TotalDiscount > 0);
        Assert.Contains(service.Promotions, p => p.PromotionId == "berlin-only" && p.Applied);
    }

    [Fact]
    public async Task The_tenants_rounding_and_order_cap_apply_to_calculate_and_travel_with_the_export()
    {
        // 10 % of 0.25 is 0.025: half-even gives 0.02, the tenant's half-up 0.03; the order cap holds the rest to 5.00.
        var pricing = new Serverless.Promotions.Engine.Pricing.PricingOptions { Rounding = Serverless.Promotions.Engine.Money.RoundingMode.HalfUp, MaxOrderDiscount = 5m };
        await using var world = await PromotionsWorld.CreateAsync("sqlite", new Serverless.Promotions.Service.PromotionsOptions { Pricing = pricing });
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("ten", 10m));
        var request = PromotionsWorld.Shoes() with
        {
            Basket = PromotionsWorld.Shoes().Basket! with { Lines = [new() { LineId = "c", Sku = "cap", UnitPrice = 0.25m, Quantity = 1, Category = "shoes" }] },
        };

        Assert.Equal(0.03m, world.Pricing.Calculate(request).Result!.TotalDiscount);
        Assert.Equal(5m, world.Pricing.Calculate(PromotionsWorld.Shoes(quantity: 40)).Result!.TotalDiscount);

        var offline = StoreSnapshot.FromJson(StoreSnapshot.For(world.Active.Current, "berlin-1", world.Time.GetUtcNow()).ToJson());
        Assert.Equal(pricing.Rounding, offline.Pricing.Rounding);
        Assert.Equal(5m, offline.Pricing.MaxOrderDiscount);
    }
}
