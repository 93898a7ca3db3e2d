using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;

namespace Promotions.Service.Tests;

/// <summary>
/// The ledger's group commit on each state store engine: commits queued together are worked out in arrival order
/// against running counters and written in one transaction, with exactly the outcomes lone commits would get.
/// <see cref="BudgetLedger.Hold"/> queues work without starting a batch, so a test decides what one batch holds.
/// </summary>
public abstract class GroupCommitContract(string engine)
{
    private Task<PromotionsWorld> WorldAsync() => PromotionsWorld.CreateAsync(engine);

    /// <summary>Queues every piece of work while the committer is held, then lets it take them all as one batch.</summary>
    private static async Task<LedgerOutcome[]> OneBatchAsync(BudgetLedger ledger, params Func<Task<LedgerOutcome>>[] work)
    {
        var (batchesBefore, itemsBefore) = ledger.BatchStatistics;
        ledger.Hold();
        var pending = work.Select(w => w()).ToList();
        ledger.Resume();
        var outcomes = await Task.WhenAll(pending);
        var (batches, items) = ledger.BatchStatistics;
        Assert.Equal(work.Length, items - itemsBefore);
        Assert.True(batches - batchesBefore <= 1 + ledger.ContendedCommits, $"{batches - batchesBefore} batches");
        return outcomes;
    }

    private static async Task<PromotionUsage> UsageAsync(PromotionsWorld world, string id) =>
        (await world.State.GetJsonAsync<PromotionUsage>($"promotions||usage||{id}"))!.Value;

    [Fact]
    public async Task Orders_in_one_batch_exhaust_a_budget_exactly_and_see_each_others_consumption()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(TotalDiscount: 50m));

        var outcomes = await OneBatchAsync(world.Ledger, [.. Enumerable.Range(0, 20).Select(i => (Func<Task<LedgerOutcome>>)(() =>
            world.Ledger.CommitAsync(new OrderCommit($"o{i}", PromotionsWorld.Shoes()))))]);

        Assert.Equal(1, world.Ledger.BatchStatistics.Batches);
        Assert.All(outcomes[..12], o => Assert.Equal(LedgerOutcomeKind.Committed, o.Kind)); // 12 × 4 = 48 ≤ 50
        Assert.All(outcomes[12..], o =>
        {
            Assert.Equal(LedgerOutcomeKind.LimitReached, o.Kind);
            Assert.Equal(["p1"], o.Exhausted);
            Assert.Equal(2m, o.Recalculated!.TotalDiscount); // what is left (none of them took it: nothing accepted the recalculation)
        });
        var usage = await UsageAsync(world, "p1");
        Assert.Equal((48m, 12L, true), (usage.Discount, usage.Orders, usage.Reached80));
        Assert.Null(await world.Ledger.GetOrderAsync("o12"));
        Assert.Equal([80], (await world.TakeOutboxAsync()).Where(e => e.Topic == Serverless.Promotions.Service.PromotionTopics.BudgetThreshold).Select(e => e.Data.GetProperty("percent").GetInt32()));
    }

    [Fact]
    public async Task A_repeated_order_id_in_one_batch_commits_once_and_a_cancel_behind_it_in_the_batch_sees_it()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(TotalDiscount: 100m, PerCustomer: 5));

        var outcomes = await OneBatchAsync(world.Ledger,
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(customer: "ann"))),
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(customer: "ann"))),
            () => world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(customer: "ann"))),
            () => world.Ledger.ReleaseAsync("o2", null),
            () => world.Ledger.ReleaseAsync("o3", null));

        Assert.Equal([LedgerOutcomeKind.Committed, LedgerOutcomeKind.AlreadyCommitted, LedgerOutcomeKind.Committed, LedgerOutcomeKind.Released, LedgerOutcomeKind.NotFound], outcomes.Select(o => o.Kind));
        Assert.Equal(outcomes[0].Order!.Result.Total, outcomes[1].Order!.Result.Total);
        Assert.Equal(OrderStatus.Cancelled, outcomes[3].Order!.Status);
        var usage = await UsageAsync(world, "p1");
        Assert.Equal((4m, 1L, 2L), (usage.Discount, usage.Orders, usage.Units));
        Assert.Equal(1, (await world.State.GetJsonAsync<UseCount>("promotions||usage-customer||p1||ann"))!.Value.Uses);
        Assert.Equal(OrderStatus.Cancelled, (await world.Ledger.GetOrderAsync("o2"))!.Status);

        // The same id in a later batch is answered from the store.
        var again = await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(customer: "ann")));
        Assert.Equal(LedgerOutcomeKind.AlreadyCommitted, again.Kind);
        Assert.Equal(outcomes[0].Order!.Result.Total, again.Order!.Result.Total);
    }

    [Fact]
    public async Task An_order_id_reused_with_a_different_basket_in_the_same_batch_is_refused_and_consumes_nothing()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(TotalDiscount: 100m));

        var outcomes = await OneBatchAsync(world.Ledger,
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes())),
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(quantity: 5))),
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes())));

        Assert.Equal([LedgerOutcomeKind.Committed, LedgerOutcomeKind.OrderIdReused, LedgerOutcomeKind.AlreadyCommitted], outcomes.Select(o => o.Kind));
        var usage = await UsageAsync(world, "p1");
        Assert.Equal((4m, 1L, 2L), (usage.Discount, usage.Orders, usage.Units));
    }

    [Fact]
    public async Task An_order_that_reaches_a_limit_in_a_batch_takes_nothing_from_the_others()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(PerCustomer: 1));
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("socks", 20m, "socks"), new PromotionBudget(TotalUses: 2));

        var outcomes = await OneBatchAsync(world.Ledger,
            () => world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes(customer: "ann"))),
            () => world.Ledger.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes(customer: "ann"))),
            () => world.Ledger.CommitAsync(new OrderCommit("o3", PromotionsWorld.Shoes(customer: "bob"))),
            () => world.Ledger.CommitAsync(new OrderCommit("o4", PromotionsWorld.Shoes(customer: "ann"), AcceptRecalculated: true)));

        Assert.Equal([LedgerOutcomeKind.Committed, LedgerOutcomeKind.LimitReached, LedgerOutcomeKind.Committed, LedgerOutcomeKind.Committed], outcomes.Select(o => o.Kind));
        Assert.Equal(["p1"], outcomes[1].Exhausted); // o2 wrote nothing, so the socks use it would have taken went to o3
        Assert.Equal(["p1", "socks"], outcomes[2].Order!.Consumptions.Select(c => c.PromotionId).Order());
        Assert.Equal(["p1", "socks"], outcomes[3].Exhausted!.Order()); // accepted without either: the socks budget was used up by o1 and o3
        Assert.Empty(outcomes[3].Order!.Consumptions);
        Assert.Equal(2L, (await UsageAsync(world, "p1")).Orders);
        Assert.Equal(2L, (await UsageAsync(world, "socks")).Orders);
        Assert.Null(await world.Ledger.GetOrderAsync("o2"));
    }

    [Fact]
    public async Task A_batch_worked_out_on_counters_another_instance_changed_meanwhile_is_run_again_and_stays_within_the_budget()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(TotalUses: 5));
        var other = world.OtherInstanceLedger();
        Assert.Equal(LedgerOutcomeKind.Committed, (await world.Ledger.CommitAsync(new OrderCommit("o1", PromotionsWorld.Shoes()))).Kind); // remembers the usage record
        Assert.Equal(LedgerOutcomeKind.Committed, (await other.CommitAsync(new OrderCommit("o2", PromotionsWorld.Shoes()))).Kind);
        Assert.Equal(LedgerOutcomeKind.Committed, (await other.CommitAsync(new OrderCommit("o3", PromotionsWorld.Shoes()))).Kind);

        // o2 is committed elsewhere already too: the batch finds it when it reads again.
        var outcomes = await OneBatchAsync(world.Ledger, [.. new[] { "o2", "o4", "o5", "o6", "o7" }.Select(id => (Func<Task<LedgerOutcome>>)(() =>
            world.Ledger.CommitAsync(new OrderCommit(id, PromotionsWorld.Shoes()))))]);

        Assert.True(world.Ledger.ContendedCommits >= 1);
        Assert.Equal([LedgerOutcomeKind.AlreadyCommitted, LedgerOutcomeKind.Committed, LedgerOutcomeKind.Committed, LedgerOutcomeKind.LimitReached, LedgerOutcomeKind.LimitReached], outcomes.Select(o => o.Kind));
        var usage = await UsageAsync(world, "p1");
        Assert.Equal((5L, 20m, true), (usage.Orders, usage.Discount, usage.Exhausted));
    }

    [Fact]
    public async Task Two_instances_committing_and_cancelling_in_parallel_never_exceed_a_budget_or_a_limit()
    {
        await using var world = await WorldAsync();
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("p1", 10m), new PromotionBudget(TotalDiscount: 50m, PerCustomer: 2));
        await world.ActivateAsync(PromotionsWorld.PercentOffCategory("socks", 20m, "socks"), new PromotionBudget(TotalUses: 30));
        var ledgers = new[] { world.Ledger, world.OtherInstanceLedger() };

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            var ledger = ledgers[i % 2];
            var outcome = await ledger.CommitAsync(new OrderCommit($"o{i}", PromotionsWorld.Shoes(customer: $"c{i % 7}"), AcceptRecalculated: true));
            if (i % 10 == 0)
            {
                await ledgers[(i + 1) % 2].ReleaseAsync($"o{i}", null);
            }

            return outcome;
        })));

        Assert.All(outcomes, o => Assert.Equal(LedgerOutcomeKind.Committed, o.Kind));
        var orders = (await Task.WhenAll(Enumerable.Range(0, 200).Select(i => world.Ledger.GetOrderAsync($"o{i}")))).Select(o => o!).ToList();
        var live = orders.Where(o => o.Status == OrderStatus.Committed).ToList();
        var p1 = await UsageAsync(world, "p1");
        var socks = await UsageAsync(world, "socks");
        Assert.Equal(live.Sum(o => o.Consumptions.Where(c => c.PromotionId == "p1").Sum(c => c.Discount)), p1.Discount);
        Assert.Equal(live.Count(o => o.Consumptions.Any(c => c.PromotionId == "socks")), socks.Orders);
        Assert.True(p1.Discount <= 50m, $"p1 gave {p1.Discount}");
        Assert.True(socks.Orders <= 30, $"socks used {socks.Orders} times");
        foreach (var customer in live.GroupBy(o => o.Customer))
        {
            var uses = customer.Count(o => o.Consumptions.Any(c => c.PromotionId == "p1"));
            Assert.True(uses <= 2, $"{customer.Key} used p1 {uses} times");
            Assert.Equal(uses, (await world.State.GetJsonAsync<UseCount>($"promotions||usage-customer||p1||{customer.Key}"))?.Value.Uses ?? 0);
        }
    }
}

public sealed class SqliteGroupCommitTests() : GroupCommitContract("sqlite");

public sealed class PostgresGroupCommitTests() : GroupCommitContract("postgres");
