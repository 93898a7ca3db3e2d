using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

public sealed class CatalogLifecycleTests
{
    [Fact]
    public async Task A_definition_with_problems_is_refused_with_every_problem_and_its_path()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        var bad = new PromotionDefinition { Id = "other", Name = "", Rewards = [new Reward.PercentOffItems(150m)] };

        var outcome = await world.Catalog.PutAsync("p1", new PromotionInput(bad, new PromotionBudget(TotalDiscount: -1), [new PromotionFunding("", 2m)]));

        Assert.Equal(CatalogOutcomeKind.Invalid, outcome.Kind);
        var paths = outcome.Problems!.Select(p => p.Path).ToHashSet();
        Assert.Superset(new HashSet<string> { "definition.id", "definition.name", "definition.rewards[0].percent", "budget.totalDiscount", "funding[0].vendor", "funding[0].share" }, paths);
        Assert.Null(await world.Catalog.GetAsync("p1"));
        Assert.Equal("id", Assert.Single((await world.Catalog.PutAsync("snapshot", new PromotionInput(PromotionsWorld.PercentOffCategory("snapshot", 5m)))).Problems!).Path);
    }

    [Fact]
    public async Task Amounts_finer_than_the_definition_currency_allows_are_refused_with_their_paths()
    {
        // Found by review: amountOffItems 0.4 in JPY was stored and then silently gave nothing.
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        var yen = new PromotionDefinition { Id = "yen", Name = "yen", Currency = "JPY", Rewards = [new Reward.AmountOffItems(0.4m)] };

        var outcome = await world.Catalog.PutAsync("yen", new PromotionInput(yen, new PromotionBudget(TotalDiscount: 1000.5m)));

        Assert.Equal(CatalogOutcomeKind.Invalid, outcome.Kind);
        Assert.Equal(
            [("definition.rewards[0].amount", "has more decimals than JPY allows (0)"), ("budget.totalDiscount", "has more decimals than JPY allows (0)")],
            outcome.Problems!.Select(p => (p.Path, p.Message)));
        Assert.Null(await world.Catalog.GetAsync("yen"));

        // The same amounts without a currency are read in the basket's currency and are accepted.
        Assert.Equal(CatalogOutcomeKind.Created, (await world.Catalog.PutAsync("any", new PromotionInput(yen with { Id = "any", Currency = null }, new PromotionBudget(TotalDiscount: 1000.5m)))).Kind);
    }

    [Fact]
    public async Task The_lifecycle_allows_only_its_transitions_and_lists_by_status()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        Assert.Equal(CatalogOutcomeKind.Created, (await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 10m)))).Kind);
        await world.Catalog.PutAsync("p2", new PromotionInput(PromotionsWorld.PercentOffCategory("p2", 10m)));

        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Paused)).Kind);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Settled)).Kind);
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Scheduled)).Kind);
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Active)).Kind);
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Paused)).Kind);
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Active)).Kind);

        var active = await world.Catalog.ListAsync(PromotionStatus.Active, 10, null);
        Assert.Equal(["p1"], active.Items.Select(r => r.Id));
        Assert.Equal(["p2"], (await world.Catalog.ListAsync(PromotionStatus.Draft, 10, null)).Items.Select(r => r.Id));
        var firstPage = await world.Catalog.ListAsync(null, 1, null);
        Assert.NotNull(firstPage.NextCursor);
        Assert.Equal(["p2"], (await world.Catalog.ListAsync(null, 1, firstPage.NextCursor)).Items.Select(r => r.Id));

        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Ended)).Kind);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.Catalog.TransitionAsync("p1", PromotionStatus.Active)).Kind);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 20m)))).Kind);
        Assert.Empty((await world.Catalog.ListAsync(PromotionStatus.Active, 10, null)).Items);
        Assert.Equal(CatalogOutcomeKind.NotFound, (await world.Catalog.TransitionAsync("nope", PromotionStatus.Active)).Kind);
    }

    [Fact]
    public async Task A_promotion_whose_validity_is_over_cannot_be_scheduled_or_activated()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        var over = PromotionsWorld.PercentOffCategory("old", 10m) with { Validity = new PromotionValidity { End = new DateTime(2026, 6, 1) } };
        await world.Catalog.PutAsync("old", new PromotionInput(over));

        var scheduled = await world.Catalog.TransitionAsync("old", PromotionStatus.Scheduled);
        Assert.Equal(CatalogOutcomeKind.Conflict, scheduled.Kind);
        Assert.Contains("change validity.end", scheduled.Message, StringComparison.Ordinal);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.Catalog.TransitionAsync("old", PromotionStatus.Active)).Kind);
        Assert.Equal(PromotionStatus.Draft, (await world.Catalog.GetAsync("old"))!.Status);
    }

    [Fact]
    public async Task Every_change_moves_the_catalog_version_and_the_active_snapshot_follows_it()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m));
        var version = world.Active.Current.Version;
        Assert.Equal(4m, world.Pricing.Calculate(PromotionsWorld.Shoes()).Result!.TotalDiscount);

        await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 20m)));
        Assert.True(await world.Active.RefreshAsync());
        Assert.NotEqual(version, world.Active.Current.Version);
        Assert.Equal(8m, world.Pricing.Calculate(PromotionsWorld.Shoes()).Result!.TotalDiscount);
        Assert.False(await world.Active.RefreshAsync()); // nothing moved: no reload

        await world.Catalog.TransitionAsync("p1", PromotionStatus.Paused);
        await world.Active.RefreshAsync();
        Assert.Equal(0m, world.Pricing.Calculate(PromotionsWorld.Shoes()).Result!.TotalDiscount);
    }

    [Fact]
    public async Task Another_instance_follows_changes_through_the_journal_without_reading_everything_again()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        using var other = new Serverless.Promotions.Service.Active.ActivePromotions(world.State, world.Time, Microsoft.Extensions.Logging.Abstractions.NullLogger<Serverless.Promotions.Service.Active.ActivePromotions>.Instance);
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m));
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p2", 20m, "socks"));
        Assert.True(await other.RefreshAsync()); // first load: everything
        Assert.Equal(["p1", "p2"], other.Current.Records.Keys.Order());

        world.Time.Advance(TimeSpan.FromSeconds(2));
        await world.Catalog.PutAsync("p1", new PromotionInput(PromotionsWorld.PercentOffCategory("p1", 30m)));
        await world.Catalog.TransitionAsync("p2", PromotionStatus.Paused);
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p3", 5m, "hats"));
        world.Time.Advance(TimeSpan.FromMilliseconds(250));
        Assert.True(await other.RefreshAsync()); // from the journal

        Assert.Equal(["p1", "p3"], other.Current.Records.Keys.Order());
        Assert.Equal(30m, ((Reward.PercentOffItems)other.Current.Records["p1"].Definition.Rewards[0]).Percent);
        Assert.Equal(world.Active.Current.Snapshot.ToJson(), other.Current.Snapshot.ToJson());
    }

    /// <summary>
    /// Found by review: the catalog converted validity times itself (first valid minute after a gap; the second
    /// occurrence of an ambiguous time), so the timer activated 30 min before calculate applied the promotion and ended
    /// it an hour after calculate had stopped. Both now use the engine's rule: a time in the spring-forward gap moves
    /// forward by the gap (02:30 → 03:30 EDT), an ambiguous autumn time is its first occurrence (01:30 EDT).
    /// </summary>
    [Fact]
    public async Task Validity_times_at_dst_edges_schedule_the_promotion_exactly_when_calculate_starts_and_stops_applying_it()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite");
        var definition = PromotionsWorld.PercentOffCategory("tz1", 10m) with
        {
            Validity = new PromotionValidity { TimeZone = "America/New_York", Start = new DateTime(2027, 3, 14, 2, 30, 0), End = new DateTime(2027, 11, 7, 1, 30, 0) },
        };

        var record = (await world.Catalog.PutAsync("tz1", new PromotionInput(definition))).Record!;

        var startsAt = new DateTimeOffset(2027, 3, 14, 7, 30, 0, TimeSpan.Zero); // 03:30 EDT
        var endsAt = new DateTimeOffset(2027, 11, 7, 5, 30, 0, TimeSpan.Zero); // 01:30 EDT, the first of the two
        Assert.Equal((startsAt, endsAt), (record.StartsAt!.Value, record.EndsAt!.Value));
        Assert.Equal((TimeSpan.Zero, TimeSpan.Zero), (record.StartsAt.Value.Offset, record.EndsAt.Value.Offset));

        var snapshot = PromotionSnapshot.Compile([record.Definition]);
        var basket = new Basket("EUR", [new BasketLine("1", "sku-1", 1, 20m) { Categories = ["shoes"] }]);
        bool AppliesAt(DateTimeOffset at) => snapshot.Calculate(basket, new PricingContext(at)).Promotions.Single().Applied;
        Assert.Equal((false, true), (AppliesAt(startsAt.AddSeconds(-1)), AppliesAt(startsAt)));
        Assert.Equal((true, false), (AppliesAt(endsAt.AddSeconds(-1)), AppliesAt(endsAt)));

        // The lifecycle timer acts at those same instants.
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("tz1", PromotionStatus.Scheduled)).Kind);
        world.Time.Advance(startsAt.AddSeconds(-1) - world.Time.GetUtcNow());
        Assert.Equal(0, await world.Catalog.RunDueAsync());
        world.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        Assert.Equal(PromotionStatus.Active, (await world.Catalog.GetAsync("tz1"))!.Status);
        world.Time.Advance(endsAt.AddSeconds(-1) - world.Time.GetUtcNow());
        Assert.Equal(0, await world.Catalog.RunDueAsync());
        world.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        Assert.Equal(PromotionStatus.Ended, (await world.Catalog.GetAsync("tz1"))!.Status);
    }

    [Fact]
    public async Task The_lifecycle_timer_activates_at_the_start_ends_at_the_end_and_settles_after_the_grace_period()
    {
        await using var world = await PromotionsWorld.CreateAsync("sqlite", new PromotionsOptions { SettlementGrace = TimeSpan.FromHours(1) });
        var start = world.Time.GetUtcNow().AddMinutes(10);
        var definition = PromotionsWorld.PercentOffCategory("p1", 10m) with
        {
            Validity = new PromotionValidity { TimeZone = "Europe/Berlin", Start = new DateTime(2026, 6, 13, 14, 10, 0), End = new DateTime(2026, 6, 13, 15, 0, 0) },
        };
        await world.Catalog.PutAsync("p1", new PromotionInput(definition, null, [new PromotionFunding("acme", 0.3m)]));
        var scheduled = await world.Catalog.TransitionAsync("p1", PromotionStatus.Scheduled);
        Assert.Equal(start, scheduled.Record!.StartsAt); // 14:10 in Berlin (UTC+2) is 12:10 UTC

        Assert.Equal(0, await world.Catalog.RunDueAsync());
        world.Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        Assert.Equal(PromotionStatus.Active, (await world.Catalog.GetAsync("p1"))!.Status);

        await world.Active.RefreshAsync();
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(store: "berlin-1")))).Kind);
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(quantity: 1, store: "hamburg-2")))).Kind);

        world.Time.Advance(TimeSpan.FromMinutes(50));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        Assert.Equal(PromotionStatus.Ended, (await world.Catalog.GetAsync("p1"))!.Status);
        Assert.Null(await world.Catalog.GetSettlementAsync("p1"));

        world.Time.Advance(TimeSpan.FromMinutes(59));
        Assert.Equal(0, await world.Catalog.RunDueAsync());
        world.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(1, await world.Catalog.RunDueAsync());
        Assert.Equal(PromotionStatus.Settled, (await world.Catalog.GetAsync("p1"))!.Status);
        Assert.Empty((await world.State.ListKeysAsync("promotions||due||")).Keys);

        var events = (await world.TakeOutboxAsync()).Select(e => (e.Topic, e.Data.GetProperty("status").GetString())).ToList();
        Assert.Equal(
            [("promotion.changed", "Draft"), ("promotion.changed", "Scheduled"), ("promotion.changed", "Active"), ("promotion.activated", "Active"),
             ("promotion.changed", "Ended"), ("promotion.ended", "Ended"), ("promotion.changed", "Settled"), ("promotion.settled", "Settled")],
            events);

        var settlement = (await world.Catalog.GetSettlementAsync("p1"))!;
        Assert.Equal(6m, settlement.TotalDiscount);
        Assert.Equal(2, settlement.Orders);
        Assert.Equal(1.8m, settlement.ByFundingParty["acme"]);
        Assert.Equal(4.2m, settlement.ByFundingParty[PromotionSettlement.Retailer]);
        Assert.Equal(["berlin-1", "hamburg-2"], settlement.ByStore.Select(s => s.Store));
        Assert.Equal(1.2m, settlement.ByStore[0].ByFundingParty["acme"]);
        Assert.Equal(0.6m, settlement.ByStore[1].ByFundingParty["acme"]);
    }
}
