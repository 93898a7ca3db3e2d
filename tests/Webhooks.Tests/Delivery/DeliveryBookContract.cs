using Azure.Messaging;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;
using Serverless.Webhooks.Service.Delivery;

namespace Webhooks.Tests.Delivery;

/// <summary>Creating an event's deliveries together, claimed or due, on every state store.</summary>
public abstract class DeliveryBookContract : StoreBackedContract
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ManualTime _time = new(T0);
    private DeliveryBook Book => new(Store, _time, TimeSpan.FromSeconds(60));

    [Fact]
    public async Task Claimed_deliveries_are_due_only_when_their_lease_ends_and_the_others_at_once()
    {
        var created = await Book.CreateAllAsync([new("ep-a", Claimed: true), new("ep-b", Claimed: false)], Event("e1"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken);

        Assert.NotNull(created);
        Assert.Equal(["ep-a", "ep-b"], created.Select(d => d.Record.EndpointId));
        var due = await Book.DueKeysAsync(100, TestContext.Current.CancellationToken);
        Assert.Equal([created[1].DueKey], due);

        _time.Advance(TimeSpan.FromSeconds(61));
        due = await Book.DueKeysAsync(100, TestContext.Current.CancellationToken);
        Assert.Equal([created[1].DueKey, created[0].DueKey], due);
        Assert.Equal(DeliveryStatus.Pending, (await Book.GetAsync(created[0].Record.Id, TestContext.Current.CancellationToken))!.Status);
    }

    [Fact]
    public async Task When_one_of_an_events_deliveries_exists_nothing_is_written_and_each_can_then_be_made_on_its_own()
    {
        Assert.True(await Book.CreateAsync("ep-a", Event("e2"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken));

        var again = await Book.CreateAllAsync([new("ep-a", Claimed: false), new("ep-b", Claimed: true)], Event("e2"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken);

        Assert.Null(again);
        Assert.Single(await Book.DueKeysAsync(100, TestContext.Current.CancellationToken));
        Assert.False(await Book.CreateAsync("ep-a", Event("e2"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken));
        Assert.True(await Book.CreateAsync("ep-b", Event("e2"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken));
        Assert.Equal(2, (await Book.DueKeysAsync(100, TestContext.Current.CancellationToken)).Count);
    }

    [Fact]
    public async Task A_held_delivery_brought_forward_is_due_now_and_an_entry_gone_meanwhile_is_left_alone()
    {
        var created = await Book.CreateAllAsync([new("ep-a", Claimed: true)], Event("e3"), "{}"u8.ToArray(), T0, TestContext.Current.CancellationToken);
        var (record, leaseKey, _) = Assert.Single(created!);
        var heldAt = await Book.SettleAsync(record with { NextAttemptAt = T0.AddMinutes(1) }, leaseKey, null, TestContext.Current.CancellationToken);
        Assert.NotNull(heldAt);
        Assert.Empty(await Book.DueKeysAsync(100, TestContext.Current.CancellationToken));

        _time.Advance(TimeSpan.FromSeconds(5));
        await Book.DueNowAsync([heldAt], TestContext.Current.CancellationToken);

        var due = Assert.Single(await Book.DueKeysAsync(100, TestContext.Current.CancellationToken));
        Assert.NotEqual(heldAt, due);
        Assert.Equal("ep-a", DeliveryBook.EndpointOf(due));
        Assert.Equal(record.Id, (await Book.ClaimAsync(due, TestContext.Current.CancellationToken))!.Value.Record.Id);

        // The old entry is gone and the delivery is claimed: bringing it forward again schedules nothing twice.
        await Book.DueNowAsync([heldAt, due], TestContext.Current.CancellationToken);
        Assert.Empty(await Book.DueKeysAsync(100, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Settled_deliveries_expire_after_the_retention_pending_and_retried_ones_do_not()
    {
        var ct = TestContext.Current.CancellationToken;
        var book = new DeliveryBook(Store, _time, TimeSpan.FromSeconds(60), retention: TimeSpan.FromSeconds(1));
        var created = await book.CreateAllAsync([new("ep-a", Claimed: true), new("ep-b", Claimed: true), new("ep-c", Claimed: true), new("ep-d", Claimed: true)], Event("e4"), "{}"u8.ToArray(), T0, ct);
        var (delivered, failed, retried, pending) = (created![0], created[1], created[2], created[3]);
        await book.SettleAsync(delivered.Record with { Status = DeliveryStatus.Delivered, Attempts = 1 }, delivered.DueKey, null, ct);
        await book.SettleAsync(failed.Record with { Status = DeliveryStatus.Failed, Attempts = 1 }, failed.DueKey, null, ct);
        await book.SettleAsync(retried.Record with { Status = DeliveryStatus.Failed, Attempts = 1 }, retried.DueKey, null, ct);
        await book.SettleAsync(pending.Record with { Attempts = 1, NextAttemptAt = T0.AddHours(1) }, pending.DueKey, null, ct);
        Assert.True(await book.RetryAsync(retried.Record.Id, ct));
        Assert.Single((await book.FailedAsync("ep-b", 10, null, ct)).Items);

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (await book.GetAsync(delivered.Record.Id, ct) is not null || await book.GetAsync(failed.Record.Id, ct) is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the settled deliveries did not expire");
            await Task.Delay(50, ct);
        }

        Assert.Empty((await book.FailedAsync("ep-b", 10, null, ct)).Items);
        Assert.Empty((await Store.ListKeysAsync("webhooks||failed||", 10, null, ct)).Keys);
        Assert.Equal(DeliveryStatus.Pending, (await book.GetAsync(retried.Record.Id, ct))!.Status);
        Assert.Equal(DeliveryStatus.Pending, (await book.GetAsync(pending.Record.Id, ct))!.Status);
    }

    private static CloudEvent Event(string id) => new("/test", "test.event", "data") { Id = id };
}

public sealed class SqliteDeliveryBookTests : DeliveryBookContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresDeliveryBookTests : DeliveryBookContract
{
    protected override Task<TemporaryStateStore> OpenAsync() => TemporaryStateStore.PostgresAsync("deliverybook");
}
