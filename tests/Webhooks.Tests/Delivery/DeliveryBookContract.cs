using Azure.Messaging;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;
using Serverless.Webhooks.Service.Delivery;

namespace Webhooks.Tests.Delivery;

/// <summary>Creating an event's deliveries together, claimed or due, on every state store.</summary>
public abstract class DeliveryBookContract : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly ManualTime _time = new(T0);
    private TemporaryStateStore? _store;

    private DeliveryBook Book => new(_store!.Store, _time, TimeSpan.FromSeconds(60));

    protected abstract Task<TemporaryStateStore> OpenAsync();

    public async ValueTask InitializeAsync() => _store = await OpenAsync();

    public async ValueTask DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

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
