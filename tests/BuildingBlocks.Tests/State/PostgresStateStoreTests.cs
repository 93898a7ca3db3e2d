using System.Text;
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

    protected override async Task<IStateStore> ReopenAsync(OutboxSignal signal) => await PostgresStateStore.OpenAsync(_dataSource!, _schema, signal);

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
    public async Task Grouped_writes_to_distinct_keys_go_as_multi_row_statements_and_each_transaction_gets_its_own_etags()
    {
        var store = (PostgresStateStore)Store;
        var batcher = store.Transactions;

        // Create-only keys that exist but have expired may be taken.
        await using (var expired = _dataSource!.CreateCommand($"INSERT INTO {_schema}.state (key, value, etag, expires_at) SELECT 'create||' || i, '\\x00'::bytea, nextval('{_schema}.state_etag'), now() - interval '1 second' FROM generate_series(0, 199) AS i WHERE i % 2 = 1"))
        {
            await expired.ExecuteNonQueryAsync();
        }

        var merged = batcher.MergedGroups;
        var etags = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(() => store.TransactAsync(new StateTransaction()
            .Upsert($"value||{i}", Encoding.UTF8.GetBytes($"v{i}"), new StateWriteOptions(Ttl: i % 2 == 0 ? TimeSpan.FromHours(1) : null))
            .Upsert($"create||{i}", Encoding.UTF8.GetBytes($"c{i}"), new StateWriteOptions(OnlyIfAbsent: true))))));
        Assert.True(batcher.MergedGroups > merged, "no group went as multi-row statements");

        // Each write's ETag is the one now stored under its own key, with its own value and lifetime.
        var items = (await store.GetBulkAsync([.. Enumerable.Range(0, 200).SelectMany(i => new[] { $"value||{i}", $"create||{i}" })])).ToDictionary(item => item.Key);
        for (var i = 0; i < 200; i++)
        {
            Assert.Equal([items[$"value||{i}"].ETag, items[$"create||{i}"].ETag], etags[i]);
            Assert.Equal($"v{i}", Encoding.UTF8.GetString(items[$"value||{i}"].Value.Span));
            Assert.Equal($"c{i}", Encoding.UTF8.GetString(items[$"create||{i}"].Value.Span));
            Assert.Equal(i % 2 == 0, items[$"value||{i}"].ExpiresAt is not null);
            Assert.Null(items[$"create||{i}"].ExpiresAt);
        }

        // A live create-only key fails its multi-row statement: the group is sent again with savepoints, and exactly
        // the transactions whose key was taken fail, with nothing of theirs written.
        await Task.WhenAll(Enumerable.Range(0, 200).Where(i => i % 3 == 2).Select(i => store.SaveAsync($"taken||{i}", "live"u8.ToArray())));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).Select(i => Task.Run(async () =>
        {
            try
            {
                await store.TransactAsync(new StateTransaction()
                    .Upsert($"other||{i}", "o"u8.ToArray())
                    .Upsert($"taken||{i}", "mine"u8.ToArray(), new StateWriteOptions(OnlyIfAbsent: true)));
                return true;
            }
            catch (ETagMismatchException)
            {
                return false;
            }
        })));
        Assert.Equal(Enumerable.Range(0, 200).Select(i => i % 3 != 2), outcomes);
        items = (await store.GetBulkAsync([.. Enumerable.Range(0, 200).SelectMany(i => new[] { $"other||{i}", $"taken||{i}" })])).ToDictionary(item => item.Key);
        Assert.Equal(Enumerable.Range(0, 200).Where(i => i % 3 != 2).Select(i => $"other||{i}").ToHashSet(), items.Keys.Where(k => k.StartsWith("other||", StringComparison.Ordinal)).ToHashSet());
        Assert.All(Enumerable.Range(0, 200), i => Assert.Equal(i % 3 == 2 ? "live" : "mine", Encoding.UTF8.GetString(items[$"taken||{i}"].Value.Span)));
    }

    [Fact]
    public async Task A_group_that_writes_one_key_twice_keeps_one_statement_per_write_and_applies_them_in_order()
    {
        var store = (PostgresStateStore)Store;
        var batcher = store.Transactions;
        var merged = batcher.MergedGroups;
        var plain = batcher.PlainGroups;

        // Every transaction writes the shared key (a multi-row upsert may not touch one row twice) and one of its own.
        await Task.WhenAll(Enumerable.Range(0, 100).Select(i => Task.Run(() => store.TransactAsync(new StateTransaction()
            .Upsert("shared", Encoding.UTF8.GetBytes($"{i}"))
            .Upsert($"own||{i}", "o"u8.ToArray())))));

        Assert.True(batcher.PlainGroups > plain, "100 concurrent transactions formed no group");
        Assert.Equal(merged, batcher.MergedGroups);
        Assert.Equal(100, (await store.GetBulkAsync([.. Enumerable.Range(0, 100).Select(i => $"own||{i}")])).Count);
    }

    [Fact]
    public async Task A_groups_outbox_rows_go_as_one_statement_and_each_handed_over_row_keeps_its_own_id_and_event()
    {
        var signal = new OutboxSignal();
        var store = await PostgresStateStore.OpenAsync(_dataSource!, _schema, signal);
        var handed = signal.AcceptHandoffs();
        var merged = store.Transactions.MergedOutboxGroups;

        // 60 transactions at once, with 1 to 3 events each: groups form, and each row must come back with the id
        // PostgreSQL gave that very row.
        await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(() =>
        {
            var transaction = new StateTransaction().Upsert($"o||{i}", "v"u8.ToArray());
            for (var e = 0; e <= i % 3; e++)
            {
                transaction.Publish($"topic.{e}", new CloudEvent("/tests", $"topic.{e}", new { i, e }) { Id = $"t{i}-e{e}" });
            }

            return store.TransactAsync(transaction);
        })));
        Assert.True(store.Transactions.MergedOutboxGroups > merged, "no group's outbox rows went as one statement");

        var rows = new List<OutboxMessage>();
        while (handed.TryRead(out var row))
        {
            rows.Add(row);
        }

        Assert.Equal(120, rows.Count);
        var stored = new Dictionary<long, (string Topic, byte[] Payload, bool Leased)>();
        await using (var command = _dataSource!.CreateCommand($"SELECT id, topic, payload, lease_until IS NOT NULL FROM {_schema}.outbox"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stored.Add(reader.GetInt64(0), (reader.GetString(1), reader.GetFieldValue<byte[]>(2), reader.GetBoolean(3)));
            }
        }

        Assert.Equal(120, stored.Count);
        foreach (var row in rows)
        {
            Assert.Equal(stored[row.Id].Topic, row.Topic);
            Assert.Equal(stored[row.Id].Payload, row.CloudEventJson.ToArray());
            Assert.True(stored[row.Id].Leased);
        }

        // A transaction's events keep their order (ascending ids), and no event is missing or doubled.
        var ids = rows.Select(r => (Row: r, Event: CloudEvent.Parse(BinaryData.FromBytes(r.CloudEventJson))!.Id!)).ToList();
        Assert.Equal(Enumerable.Range(0, 60).SelectMany(i => Enumerable.Range(0, i % 3 + 1).Select(e => $"t{i}-e{e}")).Order(StringComparer.Ordinal), ids.Select(x => x.Event).Order(StringComparer.Ordinal));
        foreach (var perTransaction in ids.GroupBy(x => x.Event.Split('-')[0]))
        {
            Assert.Equal(perTransaction.OrderBy(x => x.Event, StringComparer.Ordinal).Select(x => x.Row.Id), perTransaction.Select(x => x.Row.Id).Order());
        }

        // Without a relay taking them, the rows of a group are left unleased for the poll.
        await store.CompleteAsync([.. rows.Select(r => r.Id)]);
        signal.StopHandoffs();
        await Task.WhenAll(Enumerable.Range(0, 30).Select(i => Task.Run(() => store.TransactAsync(new StateTransaction()
            .Publish("a", new CloudEvent("/tests", "a", new { i }) { Id = $"a{i}" })
            .Publish("b", new CloudEvent("/tests", "b", new { i }) { Id = $"b{i}" })))));
        Assert.False(handed.TryRead(out _));
        Assert.Equal(60, (await store.LeaseAsync(100, TimeSpan.FromMinutes(1))).Count);
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
