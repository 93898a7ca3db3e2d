using System.Text.Json;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Export;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

/// <summary>Generated coupon batches on each state store engine: create, price, commit under a per-code limit, revoke, look up, export, share the secret.</summary>
public abstract class CouponBatchContract(string engine)
{
    private Task<PromotionsWorld> WorldAsync() => PromotionsWorld.CreateAsync(engine);

    /// <summary>10 % off shoes with a coupon: two shoes at 20 save 4.</summary>
    private static PromotionDefinition Xmas(string id = "xmas", params string[] codes) =>
        PromotionsWorld.PercentOffCategory(id, 10m) with { Coupon = new CouponRequirement { Codes = codes } };

    private static async Task<CouponBatchRecord> CreateBatchAsync(PromotionsWorld world, string promotionId, string prefix = "xmas", int count = 1_000)
    {
        var created = await world.CouponBatches.CreateAsync(promotionId, new CouponBatchInput(prefix, count));
        Assert.Equal(CatalogOutcomeKind.Created, created.Kind);
        return created.Batch!;
    }

    private static async Task<string> CodeAsync(PromotionsWorld world, string promotionId, string batchId, int serial) =>
        (await world.CouponBatches.CodesAsync(promotionId, batchId))!.Generate(serial);

    private static PromotionOutcome Outcome(PromotionsWorld world, string id, params string[] coupons) =>
        world.Pricing.Calculate(PromotionsWorld.Shoes(coupons: coupons)).Result!.Promotions.Single(p => p.PromotionId == id);

    [Fact]
    public async Task A_generated_code_prices_commits_and_is_single_use_under_a_per_code_limit_in_every_spelling()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(Xmas(), new PromotionBudget(PerCouponCode: 1));
        var batch = await CreateBatchAsync(world, "xmas");
        Assert.Equal(("XMAS", 1_000, false), (batch.Prefix, batch.Count, batch.Revoked));
        await world.Active.RefreshAsync();
        var code = await CodeAsync(world, "xmas", batch.Id, 17);
        var sloppy = code.ToLowerInvariant().Replace("-", "", StringComparison.Ordinal);

        var priced = Outcome(world, "xmas", sloppy);
        Assert.True(priced.Applied);
        Assert.Equal(4m, priced.Saving);
        Assert.Equal(code, priced.Coupon);

        var first = await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(coupons: [sloppy])));
        Assert.Equal(LedgerOutcomeKind.Committed, first.Kind);
        Assert.Equal(code, Assert.Single(first.Order!.Consumptions).Coupon);

        // The same code in its printed spelling is the same code: its one use is gone.
        var again = await world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(coupons: [code])));
        Assert.Equal(LedgerOutcomeKind.LimitReached, again.Kind);
        Assert.Equal(["xmas"], again.Exhausted);
        Assert.Equal(0m, again.Recalculated!.TotalDiscount);

        // Another code of the batch still works; the lookup counts uses per code.
        var other = await CodeAsync(world, "xmas", batch.Id, 18);
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o3", PromotionsWorld.Shoes(coupons: [other])))).Kind);
        var used = (await world.CouponBatches.LookupAsync(sloppy))!;
        Assert.Equal((code, "xmas", batch.Id, 17, false, 1L, 1L), (used.Code, used.PromotionId, used.BatchId, used.Serial, used.Valid, used.Uses, used.UsesAllowed));
        var unused = (await world.CouponBatches.LookupAsync(await CodeAsync(world, "xmas", batch.Id, 19)))!;
        Assert.Equal((true, 0L, (string?)null, PromotionStatus.Active), (unused.Valid, unused.Uses, unused.Reason, unused.PromotionStatus));

        // Cancelling the order gives the code's use back.
        Assert.Equal(LedgerOutcomeKind.Released, (await world.Ledger.ReleaseAsync("o1", null)).Kind);
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o4", PromotionsWorld.Shoes(coupons: [code])))).Kind);
    }

    [Fact]
    public async Task A_revoked_batch_stops_its_codes_on_the_next_refresh_and_the_lookup_says_why()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(Xmas());
        var revoked = await CreateBatchAsync(world, "xmas");
        var kept = await CreateBatchAsync(world, "xmas");
        await world.Active.RefreshAsync();
        var revokedCode = await CodeAsync(world, "xmas", revoked.Id, 3);
        var keptCode = await CodeAsync(world, "xmas", kept.Id, 3);
        Assert.True(Outcome(world, "xmas", revokedCode).Applied);
        var version = world.Active.Current.Version;

        var outcome = await world.CouponBatches.RevokeAsync("xmas", revoked.Id);
        Assert.Equal(CatalogOutcomeKind.Ok, outcome.Kind);
        Assert.True(outcome.Batch!.Revoked);
        Assert.Equal(world.Time.GetUtcNow(), outcome.Batch.RevokedAt);
        Assert.True(await world.Active.RefreshAsync());

        Assert.NotEqual(version, world.Active.Current.Version);
        Assert.Equal(OutcomeReason.CouponMissing, Outcome(world, "xmas", revokedCode).Reason);
        Assert.True(Outcome(world, "xmas", keptCode).Applied);
        var lookup = (await world.CouponBatches.LookupAsync(revokedCode))!;
        Assert.Equal((false, true, "The batch was revoked.", (long?)null), (lookup.Valid, lookup.Revoked, lookup.Reason, lookup.Uses));
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.CouponBatches.RevokeAsync("xmas", revoked.Id)).Kind); // again: no change
        Assert.Equal(2, (await world.CouponBatches.ListAsync("xmas"))!.Count);

        // Codes that verify against nothing are not found.
        Assert.Null(await world.CouponBatches.LookupAsync(keptCode[..^1] + (keptCode[^1] == 'Z' ? 'Y' : 'Z')));
        Assert.Null(await world.CouponBatches.LookupAsync("EASTER" + keptCode[4..]));
        Assert.Null(await world.CouponBatches.LookupAsync("not a code"));

        // Pausing the promotion: the code is recognised but does not work.
        await world.Catalog.TransitionAsync("xmas", PromotionStatus.Paused);
        Assert.Equal((false, "The promotion is Paused, not Active."), ((await world.CouponBatches.LookupAsync(keptCode))!.Valid, (await world.CouponBatches.LookupAsync(keptCode))!.Reason));
    }

    [Fact]
    public async Task Batches_need_valid_input_and_an_editable_promotion_that_needs_a_coupon()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(Xmas());
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("open", 5m, "socks"));

        var invalid = await world.CouponBatches.CreateAsync("xmas", new CouponBatchInput("x-mas", 0));
        Assert.Equal(CatalogOutcomeKind.Invalid, invalid.Kind);
        Assert.Equal(["prefix", "count"], invalid.Problems!.Select(p => p.Path));
        Assert.Equal(["prefix", "count"], (await world.CouponBatches.CreateAsync("xmas", new CouponBatchInput("TOOLONGPREFIX", 10_000_001))).Problems!.Select(p => p.Path));
        Assert.Equal(["count"], (await world.CouponBatches.CreateAsync("xmas", new CouponBatchInput("XMAS", null))).Problems!.Select(p => p.Path));
        Assert.Equal(CatalogOutcomeKind.NotFound, (await world.CouponBatches.CreateAsync("nope", new CouponBatchInput("XMAS", 10))).Kind);
        Assert.Equal(CatalogOutcomeKind.NotFound, (await world.CouponBatches.RevokeAsync("xmas", "b-nope")).Kind);
        Assert.Null(await world.CouponBatches.ListAsync("nope"));
        Assert.Null(await world.CouponBatches.CodesAsync("xmas", "b-nope"));
        var noCoupon = await world.CouponBatches.CreateAsync("open", new CouponBatchInput("OPEN", 10));
        Assert.Equal(CatalogOutcomeKind.Conflict, noCoupon.Kind);
        Assert.Contains("needs no coupon", noCoupon.Message, StringComparison.Ordinal);
        Assert.Equal("id", Assert.Single((await world.Catalog.PutAsync("coupons", new PromotionInput(Xmas("coupons")))).Problems!).Path);

        var batch = await CreateBatchAsync(world, "xmas");
        var changed = (await world.TakeOutboxAsync()).Where(e => e.Topic == PromotionTopics.Changed).Select(e => e.Data.GetProperty("change").GetString()).ToList();
        Assert.Equal("coupon-batch-created", changed[^1]);
        Assert.Single((await world.State.ListKeysAsync(PromotionKeys.CouponPrefixIndex("XMAS"))).Keys);

        // A definition changed to need no coupon keeps its batches, which then do nothing (the snapshot still compiles).
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.PutAsync("xmas", new PromotionInput(PromotionsWorld.PercentOffCategory("xmas", 10m)))).Kind);
        Assert.True(await world.Active.RefreshAsync());
        Assert.Empty(world.Active.Current.Snapshot.CouponBatches);
        Assert.True(Outcome(world, "xmas").Applied);
        Assert.Single((await world.CouponBatches.ListAsync("xmas"))!);

        await world.Catalog.PutAsync("xmas", new PromotionInput(Xmas()));
        await world.Catalog.TransitionAsync("xmas", PromotionStatus.Ended);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.CouponBatches.CreateAsync("xmas", new CouponBatchInput("XMAS", 10))).Kind);
        Assert.Equal(CatalogOutcomeKind.Conflict, (await world.CouponBatches.RevokeAsync("xmas", batch.Id)).Kind);
    }

    [Fact]
    public async Task The_coupon_secret_is_created_once_and_every_instance_on_the_store_makes_and_accepts_the_same_codes()
    {
        await using var world = await WorldAsync();
        var secrets = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () => await new CouponSecret(world.State).MasterAsync(CancellationToken.None))));
        Assert.All(secrets, s => Assert.Equal(secrets[0], s));
        Assert.Equal(CouponSecret.MinBytes, secrets[0].Length);
        Assert.Single((await world.State.ListKeysAsync(PromotionKeys.CouponSecret)).Keys);

        await world.ActivateAsync(Xmas());
        var batch = await CreateBatchAsync(world, "xmas");
        var (otherActive, otherBatches, otherPricing, _) = world.OtherInstance();
        using (otherActive)
        {
            var code = await CodeAsync(world, "xmas", batch.Id, 500);
            Assert.Equal(code, (await otherBatches.CodesAsync("xmas", batch.Id))!.Generate(500));
            Assert.Equal(batch.Id, (await otherBatches.LookupAsync(code))!.BatchId);
            await otherActive.RefreshAsync();
            Assert.Equal(4m, otherPricing.Calculate(PromotionsWorld.Shoes(coupons: [code])).Result!.TotalDiscount);
        }

        // A configured secret is used instead of the stored one (and then codes differ: changing it voids issued codes).
        var configured = new CouponSecret(world.State, Enumerable.Range(0, 32).Select(i => (byte)i).ToArray());
        var record = (await world.CouponBatches.ListAsync("xmas"))![0];
        Assert.NotEqual(
            CouponCodes.Generate(await world.CouponSecret.BatchAsync("xmas", record), 1),
            CouponCodes.Generate(await configured.BatchAsync("xmas", record), 1));
        Assert.DoesNotContain(Convert.ToBase64String(secrets[0]), configured.ToString() + world.CouponSecret, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pos_export_carries_the_batches_and_prices_a_batch_code_offline_exactly_as_the_service_does()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(Xmas("xmas", "STATIC5"), new PromotionBudget(PerCouponCode: 1));
        await world.ActivateAsync(Xmas("hamburg") with { Targeting = new PromotionTargeting { StoreIds = ["hamburg-2"] } });
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("socks", 20m, "socks"));
        var batch = await CreateBatchAsync(world, "xmas");
        var revoked = await CreateBatchAsync(world, "xmas", "OLD");
        await CreateBatchAsync(world, "hamburg", "HH");
        await world.CouponBatches.RevokeAsync("xmas", revoked.Id);
        await world.Active.RefreshAsync();

        var json = StoreSnapshot.For(world.Active.Current, "berlin-1", world.Time.GetUtcNow()).ToJson();
        var offline = StoreSnapshot.FromJson(json);

        var exported = Assert.Single(offline.CouponBatches); // not the revoked one, not the Hamburg promotion's
        Assert.Equal((batch.Id, "xmas", "XMAS", 1_000, false), (exported.Id, exported.PromotionId, exported.Prefix, exported.Count, exported.Revoked));
        var pos = PromotionSnapshot.Compile(
            PromotionJson.Deserialize(JsonSerializer.Serialize(offline.Promotions, PromotionJson.Options)),
            JsonSerializer.Deserialize<List<CouponBatch>>(JsonSerializer.Serialize(offline.CouponBatches, PromotionJson.Options), PromotionJson.Options));
        var code = await CodeAsync(world, "xmas", batch.Id, 999);
        foreach (var coupons in new[] { [code.ToLowerInvariant()], ["static5"], [await CodeAsync(world, "xmas", revoked.Id, 1)], Array.Empty<string>() })
        {
            var request = PromotionsWorld.Shoes(quantity: 3, coupons: coupons);
            var (basket, context, _) = request.ToPricing(world.Time.GetUtcNow());
            var service = world.Pricing.Calculate(request).Result!;
            var offlineResult = pos.Calculate(basket!, context! with { ExhaustedPromotionIds = offline.Exhausted.ToHashSet() });
            var comparable = service with { Promotions = [.. service.Promotions.Where(p => p.PromotionId != "hamburg")] };
            Assert.Equal(JsonSerializer.Serialize(comparable), JsonSerializer.Serialize(offlineResult));
            Assert.Equal(JsonSerializer.Serialize(comparable), JsonSerializer.Serialize(offline.Compile().Calculate(basket!, context! with { ExhaustedPromotionIds = offline.Exhausted.ToHashSet() })));
        }

        Assert.Equal(code, world.Pricing.Calculate(PromotionsWorld.Shoes(coupons: [code])).Result!.Promotions.Single(p => p.PromotionId == "xmas").Coupon);
    }
}

public sealed class SqliteCouponBatchTests() : CouponBatchContract("sqlite");

public sealed class PostgresCouponBatchTests() : CouponBatchContract("postgres");
