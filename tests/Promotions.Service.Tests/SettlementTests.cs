using System.Text.Json;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

public sealed class SettlementTests
{
    private static readonly IReadOnlyList<PromotionFunding> TwoVendors = [new("acme", 0.25m), new("globex", 0.1m)];

    [Fact]
    public async Task Several_vendors_fund_shares_and_every_store_row_adds_up_exactly()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite", new PromotionsOptions { SettlementGrace = TimeSpan.FromHours(1) });
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), funding: TwoVendors);
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(store: "berlin-1")))).Kind);
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(quantity: 1, store: "hamburg-2")))).Kind);

        var settlement = await SettleAsync(world, "p1");

        Assert.Equal(6m, settlement.TotalDiscount);
        Assert.Equal(4m, settlement.ByStore[0].Discount);
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 1.00m, ["globex"] = 0.40m, ["retailer"] = 2.60m }, settlement.ByStore[0].ByFundingParty);
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 0.50m, ["globex"] = 0.20m, ["retailer"] = 1.30m }, settlement.ByStore[1].ByFundingParty);
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 1.50m, ["globex"] = 0.60m, ["retailer"] = 3.90m }, settlement.ByFundingParty);
        Assert.Equal(TwoVendors, settlement.Funding);
        Assert.Null(settlement.Adjustments);
        Assert.Equal(settlement.ByFundingParty, settlement.NetByFundingParty);
    }

    [Fact]
    public async Task Funding_that_cannot_be_split_is_refused_with_the_path_of_every_problem()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        IReadOnlyList<PromotionFunding> bad = [new("acme", 0.7m), new("ACME", 0.2m), new("retailer", 0.1m), new("globex", 0.1234567m), new("", 0.2m)];

        var outcome = await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 10m), null, bad));

        Assert.Equal(CatalogOutcomeKind.Invalid, outcome.Kind);
        Assert.Equal(
            ["funding", "funding[1].vendor", "funding[2].vendor", "funding[3].share", "funding[4].vendor"],
            outcome.Problems!.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Contains("1.2", outcome.Problems!.Single(p => p.Path == "funding").Message, StringComparison.Ordinal);
        var over = await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 10m), null, [new("acme", 0.6m), new("globex", 0.5m)]));
        Assert.Equal("funding", Assert.Single(over.Problems!).Path);
        Assert.Equal(CatalogOutcomeKind.Created, (await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 10m), null, [new("acme", 0.6m), new("globex", 0.4m)]))).Kind);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_return_after_settlement_leaves_the_statement_and_shows_as_an_adjustment_with_an_event(string engine)
    {
        await using var world = await PromotionsWorld.CreateAsync(engine, new PromotionsOptions { SettlementGrace = TimeSpan.FromHours(1) });
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), funding: TwoVendors);
        await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(store: "berlin-1")));
        await world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(quantity: 1, store: "hamburg-2")));
        var statement = await SettleAsync(world, "p1");
        await world.TakeOutboxAsync();

        Assert.Equal(LedgerOutcomeKind.Released, (await world.Ledger.ReleaseAsync("o1", new OrderReturn("r1", [new ReturnLine("l1", 1)]))).Kind);
        Assert.Equal(LedgerOutcomeKind.Released, (await world.Ledger.ReleaseAsync("o2", null)).Kind);

        var read = (await world.Catalog.GetSettlementAsync("p1"))!;
        Assert.Equal(statement.TotalDiscount, read.TotalDiscount);
        Assert.Equal(statement.ByFundingParty, read.ByFundingParty);
        Assert.Equal(statement.SettledAt, read.SettledAt);
        var adjustments = read.Adjustments!;
        Assert.Equal((-1L, -2L, -4m), (adjustments.Orders, adjustments.Units, adjustments.Discount));
        Assert.Equal(["berlin-1", "hamburg-2"], adjustments.ByStore.Select(s => s.Store));
        Assert.Equal((0L, -1L, -2m), (adjustments.ByStore[0].Orders, adjustments.ByStore[0].Units, adjustments.ByStore[0].Discount));
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = -0.50m, ["globex"] = -0.20m, ["retailer"] = -1.30m }, adjustments.ByStore[0].ByFundingParty);
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = -1.00m, ["globex"] = -0.40m, ["retailer"] = -2.60m }, adjustments.ByFundingParty);
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 0.50m, ["globex"] = 0.20m, ["retailer"] = 1.30m }, read.NetByFundingParty);

        var events = (await world.TakeOutboxAsync()).Where(e => e.Topic == PromotionTopics.SettlementAdjusted).Select(e => e.Data).ToList();
        Assert.Equal(2, events.Count);
        Assert.Equal(("o1", "berlin-1", 0L, -1L, -2m), Adjusted(events[0]));
        Assert.Equal(("o2", "hamburg-2", -1L, -1L, -2m), Adjusted(events[1]));
    }

    [Fact]
    public void Splits_always_add_up_and_each_party_is_within_one_minor_unit_of_its_exact_share()
    {
        var random = new Random(20261130);
        for (var run = 0; run < 5_000; run++)
        {
            var vendors = random.Next(0, 5);
            var left = PromotionFunding.ShareScale;
            var funding = new List<PromotionFunding>();
            for (var v = 0; v < vendors && left > 0; v++)
            {
                var share = random.NextInt64(1, left + 1);
                left -= share;
                funding.Add(new($"v{v}", share / (decimal)PromotionFunding.ShareScale));
            }

            var amount = random.NextInt64(-10_000_000, 10_000_000) / 100m;
            var parts = PromotionSettlement.Split(amount, funding, 2);

            Assert.Equal(amount, parts.Values.Sum());
            foreach (var party in funding)
            {
                Assert.True(Math.Abs(parts[party.Vendor] - (amount * party.Share)) < 0.01m, $"{party.Vendor} {parts[party.Vendor]} of {amount} × {party.Share}");
                Assert.True(parts[party.Vendor] * Math.Sign(amount) >= 0, "no vendor part has the opposite sign of the amount");
            }

            Assert.True(parts[PromotionSettlement.Retailer] * Math.Sign(amount) >= 0, $"retailer {parts[PromotionSettlement.Retailer]} of {amount}");
        }

        // More decimals than the currency has: the vendors get whole minor units, the retailer keeps what is left.
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 5m, ["retailer"] = 5.005m }, PromotionSettlement.Split(10.005m, [new("acme", 0.5m)], 2));
        Assert.Equal(new Dictionary<string, decimal> { ["acme"] = 5m, ["retailer"] = 5m }, PromotionSettlement.Split(10m, [new("acme", 0.5m)], 0));
    }

    [Fact]
    public void Funding_written_as_one_vendor_object_reads_as_a_list_of_one()
    {
        var options = StateStoreJsonExtensions.JsonOptions;
        var single = JsonSerializer.Deserialize<PromotionInput>("""{"definition":null,"funding":{"vendor":"acme","share":0.3}}""", options)!;
        var list = JsonSerializer.Deserialize<PromotionInput>("""{"definition":null,"funding":[{"vendor":"acme","share":0.3},{"vendor":"globex","share":0.2}]}""", options)!;
        var none = JsonSerializer.Deserialize<PromotionInput>("""{"definition":null,"funding":null}""", options)!;

        Assert.Equal([new PromotionFunding("acme", 0.3m)], single.Funding);
        Assert.Equal([new PromotionFunding("acme", 0.3m), new PromotionFunding("globex", 0.2m)], list.Funding);
        Assert.Null(none.Funding);
        Assert.Contains("\"funding\":[{\"vendor\":\"acme\",\"share\":0.3}]", JsonSerializer.Serialize(single, options), StringComparison.Ordinal);
    }

    private static (string?, string?, long, long, decimal) Adjusted(JsonElement e) =>
        (e.GetProperty("orderId").GetString(), e.GetProperty("store").GetString(), e.GetProperty("orders").GetInt64(), e.GetProperty("units").GetInt64(), e.GetProperty("discount").GetDecimal());

    private static async Task<PromotionSettlement> SettleAsync(PromotionsWorld world, string id)
    {
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync(id, PromotionStatus.Ended)).Kind);
        world.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        return (await world.Catalog.GetSettlementAsync(id))!;
    }
}
