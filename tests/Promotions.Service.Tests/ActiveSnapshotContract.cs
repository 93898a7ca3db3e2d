using Microsoft.Extensions.Logging.Abstractions;
using Serverless.Promotions.Service;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;
using Serverless.Promotions.Service.Pricing;

namespace Promotions.Service.Tests;

/// <summary>
/// The active snapshot on each state store engine compiles again only what changed: records read again with an
/// unchanged ETag keep their objects, so the snapshot takes their compiled promotions over.
/// </summary>
public abstract class ActiveSnapshotContract(string engine)
{
    [Fact]
    public async Task A_change_to_one_promotion_compiles_only_that_one_and_a_spent_budget_compiles_nothing()
    {
        await using var world = await PromotionsWorld.CreateAsync(engine);
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p00", 10m), new PromotionBudget(TotalDiscount: 4m));
        for (var i = 1; i < 20; i++)
        {
            await world.ActivateAsync(PromotionsWorld.PercentOffCategory($"p{i:D2}", 5m, $"category-{i}"));
        }

        using var other = new ActivePromotions(world.State, world.Time, NullLogger<ActivePromotions>.Instance);
        Assert.True(await other.RefreshAsync());
        var first = other.Current.Snapshot;
        Assert.Equal(20, first.Definitions.Count);

        // Another instance's edit reaches this one through the journal: one promotion compiled, 19 taken over.
        world.Time.Advance(TimeSpan.FromSeconds(2));
        await world.Catalog.PutAsync("p07", new PromotionInput(PromotionsWorld.PercentOffCategory("p07", 30m, "category-7")));
        Assert.True(await other.RefreshAsync());
        var edited = other.Current.Snapshot;
        Assert.Equal(19, edited.TakenOver);
        var hat = new CalculationRequest
        {
            Basket = new BasketInput { Currency = "EUR", Lines = [new LineInput { Sku = "hat", UnitPrice = 20m, Quantity = 1, Category = "category-7", LineId = "l1" }] },
            Channel = "pos",
        };
        Assert.Equal(6m, new PromotionPricing(other, world.Time).Calculate(hat).Result!.TotalDiscount);

        // A promotion ended elsewhere leaves the view through the journal; the other 19 are taken over.
        world.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(CatalogOutcomeKind.Ok, (await world.Catalog.TransitionAsync("p19", PromotionStatus.Ended)).Kind);
        Assert.True(await other.RefreshAsync());
        Assert.DoesNotContain(other.Current.Snapshot.Definitions, d => d.Id == "p19");
        Assert.Equal(19, other.Current.Snapshot.TakenOver);
        edited = other.Current.Snapshot;

        // The budget runs out: the catalog version and the journal move, the record does not, so the view changes
        // (p00 exhausted) and the snapshot stays the very same object.
        world.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes()))).Kind);
        Assert.True(await other.RefreshAsync());
        Assert.Contains("p00", other.Current.Exhausted);
        Assert.Same(edited, other.Current.Snapshot);

        // A full read of everything again (forced) finds every ETag where it was: nothing is compiled.
        Assert.True(await other.RefreshAsync(force: true));
        Assert.Same(edited, other.Current.Snapshot);
        await world.Active.RefreshAsync();
        Assert.Equal(world.Active.Current.Snapshot.ToJson(), other.Current.Snapshot.ToJson());
    }
}

public sealed class ActiveOrderTests
{
    /// <summary>After a journal update the records are put in id order without sorting them all: the same order as sorting.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Records_changed_through_the_journal_take_their_places_in_id_order(int seed)
    {
        var random = new Random(seed);
        var at = new DateTimeOffset(2026, 6, 13, 12, 0, 0, TimeSpan.Zero);
        PromotionRecord Record(string id) => new(id, PromotionsWorld.PercentOffCategory(id, 5m), PromotionStatus.Active, null, null, 1, at, at, null, null);
        var records = Enumerable.Range(0, 300).Select(_ => $"p{random.Next(1000)}").Distinct().ToDictionary(id => id, Record, StringComparer.Ordinal);
        var ordered = records.Values.OrderBy(r => r.Id, StringComparer.Ordinal).ToList();
        for (var round = 0; round < 200; round++)
        {
            // Some ids edited (a new object), some ended (gone), some activated (new), some named but not active.
            var changed = Enumerable.Range(0, random.Next(0, 6)).Select(_ => $"p{random.Next(1000)}").ToHashSet(StringComparer.Ordinal);
            var next = new Dictionary<string, PromotionRecord>(records, StringComparer.Ordinal);
            foreach (var id in changed)
            {
                next.Remove(id);
                if (random.Next(3) > 0)
                {
                    next[id] = Record(id);
                }
            }

            ordered = ActivePromotions.Reordered(ordered, next, changed);
            records = next;
            Assert.Equal(records.Values.OrderBy(r => r.Id, StringComparer.Ordinal), ordered);
        }
    }
}

public sealed class SqliteActiveSnapshotTests() : ActiveSnapshotContract("sqlite");

public sealed class PostgresActiveSnapshotTests() : ActiveSnapshotContract("postgres");
