using System.Text;
using Azure.Messaging;
using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

/// <summary>The behaviour every state store must have; each engine runs this same suite.</summary>
public abstract class StateStoreContract : IAsyncLifetime
{
    private IStateStore? _store;

    protected IStateStore Store => _store ?? throw new InvalidOperationException("Not initialised.");

    protected IOutboxStore Outbox => (IOutboxStore)Store;

    public async ValueTask InitializeAsync() => _store = await CreateStoreAsync();

    public virtual ValueTask DisposeAsync() => ValueTask.CompletedTask;

    protected abstract Task<IStateStore> CreateStoreAsync();

    /// <summary>Another store over the same storage, with the given outbox signal.</summary>
    protected abstract Task<IStateStore> ReopenAsync(OutboxSignal signal);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(StateItem? item) => item is null ? "<missing>" : Encoding.UTF8.GetString(item.Value.Span);

    [Fact]
    public async Task Saved_value_reads_back_with_an_etag()
    {
        var etag = await Store.SaveAsync("orders||1", Bytes("one"));
        var item = await Store.GetAsync("orders||1");
        Assert.Equal("one", Text(item));
        Assert.Equal(etag, item!.ETag);
        Assert.Null(await Store.GetAsync("orders||2"));
    }

    [Fact]
    public async Task A_read_given_the_stored_etag_leaves_the_value_out_and_any_other_etag_reads_it_whole()
    {
        var first = await Store.SaveAsync("runs||1", Bytes("version one"));
        var unchanged = await Store.GetIfChangedAsync("runs||1", first);
        Assert.Equal(first, unchanged!.ETag);
        Assert.True(unchanged.Value.IsEmpty, "the caller holds this version: its value is not read again");

        var second = await Store.SaveAsync("runs||1", Bytes("version two"));
        var changed = await Store.GetIfChangedAsync("runs||1", first);
        Assert.Equal(("version two", second), (Text(changed), changed!.ETag));

        // Unknown, foreign or no ETag: the whole item, as GetAsync gives it.
        Assert.Equal("version two", Text(await Store.GetIfChangedAsync("runs||1", null)));
        Assert.Equal("version two", Text(await Store.GetIfChangedAsync("runs||1", "not-an-etag")));
        Assert.Null(await Store.GetIfChangedAsync("runs||2", second));

        // An expired key is missing whatever ETag the caller holds.
        var expiring = await Store.SaveAsync("runs||3", Bytes("short"), new StateWriteOptions(Ttl: TimeSpan.FromMilliseconds(200)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await Store.GetIfChangedAsync("runs||3", expiring) is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the key should have expired");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_bulk_read_leaves_out_the_values_whose_etags_the_caller_holds_and_the_keys_that_are_missing_or_expired()
    {
        var held = await Store.SaveAsync("watch||held", Bytes("held"));
        var old = await Store.SaveAsync("watch||changed", Bytes("one"));
        var now = await Store.SaveAsync("watch||changed", Bytes("two"));
        await Store.SaveAsync("watch||unknown", Bytes("whole"));
        var expiring = await Store.SaveAsync("watch||expiring", Bytes("short"), new StateWriteOptions(Ttl: TimeSpan.FromMilliseconds(200)));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (await Store.GetAsync("watch||expiring") is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the key should have expired");
            await Task.Delay(50);
        }

        var items = await Store.GetBulkIfChangedAsync(
        [
            new("watch||held", held),
            new("watch||changed", old),
            new("watch||unknown", "not-an-etag"),
            new("watch||missing", null),
            new("watch||expiring", expiring),
        ]);

        var byKey = items.ToDictionary(i => i.Key);
        Assert.Equal(["watch||changed", "watch||held", "watch||unknown"], byKey.Keys.Order(StringComparer.Ordinal));
        Assert.True(byKey["watch||held"].Value.IsEmpty, "the caller holds this version: its value is not read again");
        Assert.Equal(held, byKey["watch||held"].ETag);
        Assert.Equal(("two", now), (Text(byKey["watch||changed"]), byKey["watch||changed"].ETag));
        Assert.Equal("whole", Text(byKey["watch||unknown"]));
        Assert.Empty(await Store.GetBulkIfChangedAsync([]));
    }

    [Fact]
    public async Task Save_without_etag_is_last_write_wins_and_changes_the_etag()
    {
        var first = await Store.SaveAsync("k", Bytes("a"));
        var second = await Store.SaveAsync("k", Bytes("b"));
        Assert.NotEqual(first, second);
        Assert.Equal("b", Text(await Store.GetAsync("k")));
    }

    [Fact]
    public async Task Save_with_a_stale_etag_throws_and_keeps_the_stored_value()
    {
        var first = await Store.SaveAsync("k", Bytes("a"));
        var second = await Store.SaveAsync("k", Bytes("b"), new StateWriteOptions(ETag: first));
        var error = await Assert.ThrowsAsync<ETagMismatchException>(() => Store.SaveAsync("k", Bytes("c"), new StateWriteOptions(ETag: first)));
        Assert.Equal("k", error.Key);
        var item = await Store.GetAsync("k");
        Assert.Equal("b", Text(item));
        Assert.Equal(second, item!.ETag);
    }

    [Theory]
    [InlineData("1")]
    [InlineData("not-an-etag")]
    public async Task Save_with_an_etag_for_a_missing_key_throws(string etag)
    {
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.SaveAsync("missing", Bytes("x"), new StateWriteOptions(ETag: etag)));
        Assert.Null(await Store.GetAsync("missing"));
    }

    [Fact]
    public async Task Of_eight_concurrent_writers_with_the_same_etag_exactly_one_wins()
    {
        var etag = await Store.SaveAsync("counter", Bytes("0"));
        var attempts = Enumerable.Range(1, 8).Select(async i =>
        {
            try
            {
                await Store.SaveAsync("counter", Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new StateWriteOptions(ETag: etag));
                return i;
            }
            catch (ETagMismatchException)
            {
                return 0;
            }
        });
        var winners = (await Task.WhenAll(attempts)).Where(i => i != 0).ToList();
        Assert.Single(winners);
        Assert.Equal(winners[0].ToString(System.Globalization.CultureInfo.InvariantCulture), Text(await Store.GetAsync("counter")));
    }

    [Fact]
    public async Task Create_only_write_succeeds_once()
    {
        await Store.SaveAsync("once", Bytes("first"), new StateWriteOptions(OnlyIfAbsent: true));
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.SaveAsync("once", Bytes("second"), new StateWriteOptions(OnlyIfAbsent: true)));
        Assert.Equal("first", Text(await Store.GetAsync("once")));
    }

    [Fact]
    public async Task A_value_that_is_part_of_a_larger_buffer_is_stored_as_exactly_that_part()
    {
        // Stores take a serialised value's own array without copying it; a slice must still be stored as the slice.
        var buffer = Bytes("[head|middle|tail]");
        var middle = new ReadOnlyMemory<byte>(buffer, 6, 6);
        await Store.SaveAsync("parts||single", middle);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Store.TransactAsync(new StateTransaction()
            .Upsert($"parts||{i}||slice", middle)
            .Upsert($"parts||{i}||whole", buffer)
            .Upsert($"parts||{i}||created", buffer.AsMemory(1, 4), new StateWriteOptions(OnlyIfAbsent: true)))));

        Assert.Equal("middle", Text(await Store.GetAsync("parts||single")));
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(("middle", "[head|middle|tail]", "head"), (Text(await Store.GetAsync($"parts||{i}||slice")), Text(await Store.GetAsync($"parts||{i}||whole")), Text(await Store.GetAsync($"parts||{i}||created"))));
        }
    }

    [Fact]
    public async Task A_transaction_mixing_plain_conditional_and_repeated_writes_returns_each_writes_etag_and_keeps_the_last_value()
    {
        var checkedEtag = await Store.SaveAsync("mix||checked", Bytes("0"));
        var etags = await Store.TransactAsync(new StateTransaction()
            .Upsert("mix||a", Bytes("a1"))
            .Upsert("mix||b", Bytes("b1"), new StateWriteOptions(Ttl: TimeSpan.FromHours(1)))
            .Upsert("mix||a", Bytes("a2"))
            .Upsert("mix||c", Bytes("c1"))
            .Upsert("mix||checked", Bytes("1"), new StateWriteOptions(ETag: checkedEtag))
            .Upsert("mix||d", Bytes("d1"))
            .Upsert("mix||e", Bytes("e1"))
            .Delete("mix||gone", null)
            .Upsert("mix||f", Bytes("f1")));

        Assert.Equal(9, etags.Count);
        Assert.Equal("a2", Text(await Store.GetAsync("mix||a")));
        Assert.Equal(etags[2], (await Store.GetAsync("mix||a"))!.ETag);
        Assert.NotEqual(etags[0], etags[2]);
        foreach (var (key, index) in new[] { ("b", 1), ("c", 3), ("checked", 4), ("d", 5), ("e", 6), ("f", 8) })
        {
            Assert.Equal(etags[index], (await Store.GetAsync($"mix||{key}"))!.ETag);
        }

        Assert.NotNull((await Store.GetAsync("mix||b"))!.ExpiresAt);
        Assert.Null((await Store.GetAsync("mix||c"))!.ExpiresAt);
        Assert.Equal(9, etags.Where(e => e.Length > 0).Distinct().Count() + 1);
    }

    [Fact]
    public async Task In_a_transaction_a_create_only_write_fails_on_a_taken_key_and_succeeds_on_a_fresh_or_expired_one()
    {
        await Store.SaveAsync("txonce||taken", Bytes("first"));
        await Store.SaveAsync("txonce||expiring", Bytes("old"), new StateWriteOptions(Ttl: TimeSpan.FromMilliseconds(200)));

        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.TransactAsync(new StateTransaction()
            .Upsert("txonce||side", Bytes("side"))
            .Upsert("txonce||taken", Bytes("second"), new StateWriteOptions(OnlyIfAbsent: true))));
        Assert.Equal("first", Text(await Store.GetAsync("txonce||taken")));
        Assert.Null(await Store.GetAsync("txonce||side"));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await Store.GetAsync("txonce||expiring") is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        var etags = await Store.TransactAsync(new StateTransaction()
            .Upsert("txonce||fresh", Bytes("new"), new StateWriteOptions(OnlyIfAbsent: true))
            .Upsert("txonce||expiring", Bytes("renewed"), new StateWriteOptions(OnlyIfAbsent: true)));
        Assert.Equal(etags[0], (await Store.GetAsync("txonce||fresh"))!.ETag);
        Assert.Equal("renewed", Text(await Store.GetAsync("txonce||expiring")));
        Assert.Equal(etags[1], (await Store.GetAsync("txonce||expiring"))!.ETag);
    }

    [Fact]
    public async Task Delete_honours_etags_and_reports_whether_the_key_existed()
    {
        var etag = await Store.SaveAsync("d", Bytes("x"));
        await Store.SaveAsync("d", Bytes("y"));
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.DeleteAsync("d", etag));
        Assert.Equal("y", Text(await Store.GetAsync("d")));
        var current = (await Store.GetAsync("d"))!.ETag;
        Assert.True(await Store.DeleteAsync("d", current));
        Assert.Null(await Store.GetAsync("d"));
        Assert.False(await Store.DeleteAsync("d"));
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.DeleteAsync("d", current));
    }

    [Fact]
    public async Task A_recreated_key_never_reuses_an_old_etag()
    {
        var old = await Store.SaveAsync("r", Bytes("1"));
        await Store.DeleteAsync("r");
        var fresh = await Store.SaveAsync("r", Bytes("2"));
        Assert.NotEqual(old, fresh);
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.SaveAsync("r", Bytes("3"), new StateWriteOptions(ETag: old)));
    }

    [Fact]
    public async Task Bulk_get_returns_the_keys_that_exist()
    {
        await Store.SaveAsync("b||1", Bytes("1"));
        await Store.SaveAsync("b||2", Bytes("2"));
        var items = await Store.GetBulkAsync(["b||1", "b||2", "b||3"]);
        Assert.Equal(["b||1", "b||2"], items.Select(i => i.Key).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_transaction_with_one_stale_etag_applies_nothing_and_queues_no_event()
    {
        var etag = await Store.SaveAsync("t||a", Bytes("a0"));
        await Store.SaveAsync("t||a", Bytes("a1"));
        await Store.SaveAsync("t||gone", Bytes("keep"));
        var transaction = new StateTransaction()
            .Upsert("t||b", Bytes("b1"))
            .Delete("t||gone")
            .Upsert("t||a", Bytes("a2"), new StateWriteOptions(ETag: etag))
            .Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 1 }));
        await Assert.ThrowsAsync<ETagMismatchException>(() => Store.TransactAsync(transaction));
        Assert.Null(await Store.GetAsync("t||b"));
        Assert.Equal("keep", Text(await Store.GetAsync("t||gone")));
        Assert.Equal("a1", Text(await Store.GetAsync("t||a")));
        Assert.Equal(0, await Outbox.CountAsync());
    }

    [Fact]
    public async Task A_committed_transaction_applies_every_write_and_queues_its_events_in_order()
    {
        var etag = await Store.SaveAsync("t||a", Bytes("a0"));
        var etags = await Store.TransactAsync(new StateTransaction()
            .Upsert("t||a", Bytes("a1"), new StateWriteOptions(ETag: etag))
            .Upsert("t||b", Bytes("b1"))
            .Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 1 }) { Id = "e1" })
            .Publish("orders.paid", new CloudEvent("/tests", "orders.paid", new { id = 1 }) { Id = "e2" }));
        Assert.Equal(2, etags.Count);
        Assert.Equal(etags[0], (await Store.GetAsync("t||a"))!.ETag);
        Assert.Equal("b1", Text(await Store.GetAsync("t||b")));

        var leased = await Outbox.LeaseAsync(10, TimeSpan.FromMinutes(1));
        Assert.Equal(["orders.created", "orders.paid"], leased.Select(m => m.Topic));
        Assert.Equal("e1", CloudEvent.Parse(BinaryData.FromBytes(leased[0].CloudEventJson))!.Id);
        Assert.Empty(await Outbox.LeaseAsync(10, TimeSpan.FromMinutes(1)));
        await Outbox.CompleteAsync([.. leased.Select(m => m.Id)]);
        Assert.Equal(0, await Outbox.CountAsync());
    }

    [Fact]
    public async Task A_transaction_publishing_to_a_topic_the_process_does_not_declare_fails_and_changes_nothing()
    {
        // Its row could never be relayed (the publish refuses the topic), so it must not be committed at all.
        var topics = new Serverless.BuildingBlocks.PubSub.TopicRegistry([new("orders.created")], []);
        var store = await ReopenAsync(new OutboxSignal(topics));

        var error = await Assert.ThrowsAsync<Serverless.BuildingBlocks.PubSub.UnknownTopicException>(() => store.TransactAsync(new StateTransaction()
            .Upsert("t||undeclared", Bytes("x"))
            .Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 1 }) { Id = "u1" })
            .Publish("orders.settled", new CloudEvent("/tests", "orders.settled", new { id = 1 }) { Id = "u2" })));

        Assert.Equal("orders.settled", error.Topic);
        Assert.Null(await store.GetAsync("t||undeclared"));
        Assert.Equal(0, await ((IOutboxStore)store).CountAsync());

        await store.TransactAsync(new StateTransaction()
            .Upsert("t||declared", Bytes("y"))
            .Publish("orders.created", new CloudEvent("/tests", "orders.created", new { id = 2 }) { Id = "u3" }));
        Assert.Equal("y", Text(await store.GetAsync("t||declared")));
        Assert.Equal(1, await ((IOutboxStore)store).CountAsync());
    }

    [Fact]
    public async Task Of_many_concurrent_transactions_the_ones_whose_condition_fails_change_nothing_and_the_others_all_commit()
    {
        // Enough at once that the stores group them into shared commits: an odd one fails its check (first or last
        // in its transaction), which must not undo, block or leak into the even ones committed with it.
        const int count = 120;
        var etags = new string[count];
        for (var i = 0; i < count; i++)
        {
            etags[i] = await Store.SaveAsync($"g||{i}", Bytes("v0"));
            if (i % 2 == 1)
            {
                await Store.SaveAsync($"g||{i}", Bytes("v1"));
            }
        }

        var outcomes = await Task.WhenAll(Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            var transaction = new StateTransaction();
            if (i % 4 == 3)
            {
                transaction.Upsert($"g||{i}||side", Bytes("side"));
            }

            transaction.Upsert($"g||{i}", Bytes("v2"), new StateWriteOptions(ETag: etags[i]));
            if (i % 4 != 3)
            {
                transaction.Upsert($"g||{i}||side", Bytes("side"));
            }

            transaction.Publish("group.test", new CloudEvent("/tests", "group.test", new { i }) { Id = $"e{i}" });
            try
            {
                return (i, ETags: await Store.TransactAsync(transaction), Failed: false);
            }
            catch (ETagMismatchException)
            {
                return (i, ETags: (IReadOnlyList<string>)[], Failed: true);
            }
        })));

        foreach (var (i, written, failed) in outcomes)
        {
            Assert.Equal(i % 2 == 1, failed);
            var value = await Store.GetAsync($"g||{i}");
            var side = await Store.GetAsync($"g||{i}||side");
            if (failed)
            {
                Assert.Equal("v1", Text(value));
                Assert.Null(side);
            }
            else
            {
                Assert.Equal("v2", Text(value));
                Assert.Equal(value!.ETag, written[i % 4 == 3 ? 1 : 0]);
                Assert.Equal(side!.ETag, written[i % 4 == 3 ? 0 : 1]);
            }
        }

        var events = await Outbox.LeaseAsync(1000, TimeSpan.FromMinutes(1));
        Assert.Equal(
            Enumerable.Range(0, count).Where(i => i % 2 == 0).Select(i => $"e{i}").Order(StringComparer.Ordinal),
            events.Select(m => CloudEvent.Parse(BinaryData.FromBytes(m.CloudEventJson))!.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Of_concurrent_transactions_holding_the_same_etag_exactly_one_commits()
    {
        var etag = await Store.SaveAsync("race||k", Bytes("0"));
        var attempts = Enumerable.Range(1, 16).Select(i => Task.Run(async () =>
        {
            try
            {
                await Store.TransactAsync(new StateTransaction()
                    .Upsert("race||k", Bytes(i.ToString(System.Globalization.CultureInfo.InvariantCulture)), new StateWriteOptions(ETag: etag))
                    .Publish("race.won", new CloudEvent("/tests", "race.won", new { i })));
                return i;
            }
            catch (ETagMismatchException)
            {
                return 0;
            }
        }));

        var winner = Assert.Single(await Task.WhenAll(attempts), i => i != 0);
        Assert.Equal(winner.ToString(System.Globalization.CultureInfo.InvariantCulture), Text(await Store.GetAsync("race||k")));
        Assert.Equal(1, await Outbox.CountAsync());
    }

    [Fact]
    public async Task Concurrent_outbox_leases_never_hand_out_the_same_message_and_expired_leases_return()
    {
        var transaction = new StateTransaction();
        for (var i = 0; i < 40; i++)
        {
            transaction.Publish("orders.created", new CloudEvent("/tests", "orders.created", new { i }));
        }

        await Store.TransactAsync(transaction);
        var leases = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Outbox.LeaseAsync(15, TimeSpan.FromMilliseconds(300))));
        var ids = leases.SelectMany(l => l.Select(m => m.Id)).ToList();
        Assert.Equal(40, ids.Count);
        Assert.Equal(40, ids.Distinct().Count());

        Assert.Empty(await Outbox.LeaseAsync(100, TimeSpan.FromMinutes(1)));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        var again = new List<long>();
        while (again.Count < 40 && DateTime.UtcNow < deadline)
        {
            again.AddRange((await Outbox.LeaseAsync(100, TimeSpan.FromMinutes(1))).Select(m => m.Id));
        }

        Assert.Equal(ids.Order(), again.Order());
    }

    [Fact]
    public async Task A_key_with_a_ttl_expires_and_can_then_be_created_again()
    {
        await Store.SaveAsync("ttl||1", Bytes("short"), new StateWriteOptions(Ttl: TimeSpan.FromMilliseconds(300)));
        await Store.SaveAsync("ttl||2", Bytes("long"), new StateWriteOptions(Ttl: TimeSpan.FromHours(1)));
        Assert.NotNull((await Store.GetAsync("ttl||2"))!.ExpiresAt);

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await Store.GetAsync("ttl||1") is not null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Null(await Store.GetAsync("ttl||1"));
        Assert.Equal(["ttl||2"], (await Store.ListKeysAsync("ttl||")).Keys);
        await Store.SaveAsync("ttl||1", Bytes("again"), new StateWriteOptions(OnlyIfAbsent: true));
        Assert.Equal("again", Text(await Store.GetAsync("ttl||1")));
        Assert.Null((await Store.GetAsync("ttl||1"))!.ExpiresAt);
    }

    [Fact]
    public async Task Keys_list_by_prefix_in_ordinal_order_a_page_at_a_time()
    {
        var expected = Enumerable.Range(0, 25).Select(i => $"p%_||{i:D3}").ToList();
        foreach (var key in expected)
        {
            await Store.SaveAsync(key, Bytes("v"));
        }

        await Store.SaveAsync("p%a||x", Bytes("other prefix"));
        await Store.SaveAsync("p%`||x", Bytes("sorts just after the prefix"));
        await Store.SaveAsync("p%||x", Bytes("shorter"));

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await Store.ListKeysAsync("p%_||", 10, token);
            seen.AddRange(page.Keys);
            token = page.ContinuationToken;
            pages++;
        }
        while (token is not null);

        Assert.Equal(expected, seen);
        Assert.Equal(3, pages);
    }

    [Fact]
    public async Task A_key_over_the_documented_length_is_refused_and_nothing_stored_is_lost()
    {
        await Store.SaveAsync("keep", Bytes("safe"));
        var tooLong = new string('x', StateKeys.MaxKeyLength + 1);
        await Assert.ThrowsAsync<InvalidStateKeyException>(() => Store.SaveAsync(tooLong, Bytes("v")));
        await Assert.ThrowsAsync<InvalidStateKeyException>(() => Store.GetAsync(tooLong));
        await Assert.ThrowsAsync<InvalidStateKeyException>(() => Store.TransactAsync(new StateTransaction().Upsert("keep", Bytes("lost")).Upsert(tooLong, Bytes("v"))));
        Assert.Equal("safe", Text(await Store.GetAsync("keep")));
        await Store.SaveAsync(new string('y', StateKeys.MaxKeyLength), Bytes("fits"));
    }

    [Fact]
    public async Task Binary_values_round_trip_exactly()
    {
        var value = Enumerable.Range(0, 70_000).Select(i => (byte)(i * 31)).ToArray();
        await Store.SaveAsync("bin", value);
        Assert.Equal(value, (await Store.GetAsync("bin"))!.Value.ToArray());
    }
}
