using Azure.Messaging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.State;
using Serverless.Testing;

namespace BuildingBlocks.Tests.State;

public sealed class PostgresStateStoreTests : StateStoreContract
{
    private readonly string _schema = "state_" + Guid.NewGuid().ToString("N")[..12];
    private NpgsqlDataSource? _dataSource;

    protected override async Task<IStateStore> CreateStoreAsync()
    {
        _dataSource = NpgsqlDataSource.Create(TestServers.Postgres);
        return await PostgresStateStore.OpenAsync(_dataSource, _schema, new OutboxSignal());
    }

    public override async ValueTask DisposeAsync()
    {
        if (_dataSource is not null)
        {
            await using var command = _dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE");
            await command.ExecuteNonQueryAsync();
            await _dataSource.DisposeAsync();
        }
    }

    [Fact]
    public async Task Grouped_transactions_go_without_savepoints_until_one_fails_its_condition_then_with_them()
    {
        var store = (PostgresStateStore)Store;
        var batcher = store.Transactions;

        // All succeed: the groups that form are committed by the plain attempt.
        await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => store.TransactAsync(new StateTransaction()
            .Upsert($"plain||{i}", "a"u8.ToArray())
            .Upsert($"plain||{i}||b", "b"u8.ToArray())))));
        Assert.True(batcher.PlainGroups > 0, "200 concurrent transactions formed no group");
        Assert.Equal(0, batcher.SavepointGroups);
        Assert.All(await store.GetBulkAsync([.. Enumerable.Range(0, 200).Select(i => $"plain||{i}||b")]), item => Assert.Equal("b"u8.ToArray(), item.Value.ToArray()));

        // Half hold a stale ETag: a group's plain attempt fails, the group is sent again with savepoints and only the
        // stale ones fail; the next groups start with savepoints.
        var etags = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => store.SaveAsync($"mixed||{i}", "0"u8.ToArray())));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            try
            {
                await store.TransactAsync(new StateTransaction()
                    .Upsert($"mixed||{i}", "1"u8.ToArray(), new StateWriteOptions(ETag: i % 2 == 0 ? etags[i] : "1"))
                    .Upsert($"mixed||{i}||side", "s"u8.ToArray()));
                return true;
            }
            catch (ETagMismatchException)
            {
                return false;
            }
        })));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i % 2 == 0), outcomes);
        Assert.True(batcher.SavepointGroups > 0, "no group was sent with savepoints");
        var sides = await store.GetBulkAsync([.. Enumerable.Range(0, 200).Select(i => $"mixed||{i}||side")]);
        Assert.Equal(Enumerable.Range(0, 200).Where(i => i % 2 == 0).Select(i => $"mixed||{i}||side").ToHashSet(), sides.Select(item => item.Key).ToHashSet());
    }

    [Fact]
    public async Task Two_instances_starting_together_both_create_the_schema_safely()
    {
        await using var other = NpgsqlDataSource.Create(TestServers.Postgres);
        var schema = "state_" + Guid.NewGuid().ToString("N")[..12];
        try
        {
            var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresStateStore.OpenAsync(other, schema, new OutboxSignal())));
            await stores[0].SaveAsync("x", "1"u8.ToArray());
            Assert.NotNull(await stores[3].GetAsync("x"));
        }
        finally
        {
            await using var command = other.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE");
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task While_a_relay_takes_them_committed_outbox_rows_are_written_leased_and_handed_over_with_their_ids()
    {
        var signal = new OutboxSignal();
        var store = await PostgresStateStore.OpenAsync(_dataSource!, _schema, signal);
        var handed = signal.AcceptHandoffs();

        await store.TransactAsync(new StateTransaction()
            .Upsert("h||k", "v"u8.ToArray())
            .Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 1 }) { Id = "e1" })
            .Publish("orders.paid", new CloudEvent("/tests", "orders.paid", new { id = 1 }) { Id = "e2" }));

        // Many at once, so some share a group commit: every row comes back with its own id and topic.
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => store.TransactAsync(new StateTransaction()
            .Upsert($"h||{i}", "v"u8.ToArray())
            .Publish("orders.grouped", new CloudEvent("/tests", "orders.grouped", new { i }) { Id = $"g{i}" })))));

        var rows = new List<OutboxMessage>();
        while (handed.TryRead(out var row))
        {
            rows.Add(row);
        }

        Assert.Equal(42, rows.Count);
        Assert.Equal(42, rows.Select(r => r.Id).Distinct().Count());
        Assert.Equal(["e1", "e2"], rows.Take(2).Select(r => CloudEvent.Parse(BinaryData.FromBytes(r.CloudEventJson))!.Id));
        Assert.All(rows.Skip(2), r => Assert.Equal("orders.grouped", r.Topic));
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"g{i}").Order(StringComparer.Ordinal), rows.Skip(2).Select(r => CloudEvent.Parse(BinaryData.FromBytes(r.CloudEventJson))!.Id).Order(StringComparer.Ordinal));

        // Leased to this process's relay: no other relay's poll takes them while the lease lasts.
        Assert.Empty(await store.LeaseAsync(100, TimeSpan.FromMinutes(1)));
        Assert.Equal(42, await store.CountAsync());
        await store.CompleteAsync([.. rows.Select(r => r.Id)]);
        Assert.Equal(0, await store.CountAsync());

        // Once the relay stops taking them, rows are written for the poll again.
        signal.StopHandoffs();
        await store.TransactAsync(new StateTransaction().Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 2 }) { Id = "e3" }));
        Assert.False(handed.TryRead(out _));
        Assert.Equal("orders.created", Assert.Single(await store.LeaseAsync(100, TimeSpan.FromMinutes(1))).Topic);
    }

    [Fact]
    public async Task A_stopping_relay_gives_back_the_rows_handed_to_it_that_it_did_not_publish()
    {
        var signal = new OutboxSignal();
        var store = await PostgresStateStore.OpenAsync(_dataSource!, _schema, signal);
        var publisher = new StuckPublisher();
        using var relay = new OutboxRelay(store, publisher, signal, NullLogger<OutboxRelay>.Instance);
        await relay.StartAsync(CancellationToken.None);
        await BuildingBlocks.Tests.PubSub.Poll.UntilAsync(() => Task.FromResult(signal.TakesHandoffs), taking => taking, "the relay taking hand-overs");

        for (var i = 0; i < 5; i++)
        {
            await store.TransactAsync(new StateTransaction().Publish("orders.created", new CloudEvent("/tests", "orders.created", new { i }) { Id = $"s{i}" }));
        }

        await publisher.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Empty(await store.LeaseAsync(100, TimeSpan.FromMinutes(1)));

        // The broker never confirms; the relay stops: the rows are not left leased for another 30 s.
        await relay.StopAsync(CancellationToken.None);
        Assert.False(signal.TakesHandoffs);
        Assert.Equal(5, (await store.LeaseAsync(100, TimeSpan.FromMinutes(1))).Count);
    }

    private sealed class StuckPublisher : IEventPublisher
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public async Task PublishAsync(string topic, CloudEvent cloudEvent, CancellationToken cancellationToken = default)
        {
            Started.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }
}
