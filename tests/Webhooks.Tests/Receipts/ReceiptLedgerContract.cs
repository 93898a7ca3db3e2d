using System.Text;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Service.Receipts;

namespace Webhooks.Tests.Receipts;

/// <summary>Persist-before-acknowledge and deduplication, on every state store.</summary>
public abstract class ReceiptLedgerContract : IAsyncLifetime
{
    private static readonly Dictionary<string, string> Headers = new() { ["X-GitHub-Event"] = "push", ["X-Hub-Signature-256"] = "[redacted]" };

    protected IStateStore Store { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Store = await OpenAsync();

    public abstract ValueTask DisposeAsync();

    protected abstract Task<IStateStore> OpenAsync();

    private ReceiptLedger Ledger(TimeSpan? window = null, TimeSpan? retention = null) => new(Store, TimeProvider.System, window, retention);

    private static (string, CloudEvent)[] Events(string id) => [("scm.push", new CloudEvent("/webhooks/github", "scm.push", new { id }) { Id = id })];

    private async Task<List<OutboxMessage>> DrainOutboxAsync()
    {
        var outbox = (IOutboxStore)Store;
        var messages = (await outbox.LeaseAsync(100, TimeSpan.FromMinutes(1))).ToList();
        await outbox.CompleteAsync(messages.Select(m => m.Id).ToList());
        return messages;
    }

    [Fact]
    public async Task An_accepted_delivery_stores_its_receipt_and_queues_its_events_together()
    {
        var body = "{\"ref\":\"refs/heads/main\"}"u8.ToArray();
        var outcome = await Ledger().AcceptAsync("github-main", "d-1", "push", "application/json", Headers, body, Events("e-1"));

        Assert.False(outcome.Duplicate);
        var receipt = await Ledger().GetAsync(outcome.ReceiptId);
        Assert.NotNull(receipt);
        Assert.Equal(body, receipt.Body);
        Assert.Equal("[redacted]", receipt.Headers["X-Hub-Signature-256"]);
        Assert.Equal(("github-main", "d-1", "push"), (receipt.Source, receipt.DeliveryId, receipt.EventType));
        var queued = Assert.Single(await DrainOutboxAsync());
        Assert.Equal("scm.push", queued.Topic);
        Assert.Equal("e-1", CloudEventJson.Parse(queued.CloudEventJson).Id);
    }

    [Fact]
    public async Task The_same_delivery_id_again_returns_the_original_receipt_and_publishes_nothing_more()
    {
        var first = await Ledger().AcceptAsync("github-main", "d-1", "push", null, Headers, "a"u8.ToArray(), Events("e-1"));
        var again = await Ledger().AcceptAsync("github-main", "d-1", "push", null, Headers, "a"u8.ToArray(), Events("e-2"));
        var otherSource = await Ledger().AcceptAsync("gitlab-main", "d-1", "push", null, Headers, "a"u8.ToArray(), Events("e-3"));

        Assert.True(again.Duplicate);
        Assert.Equal(first.ReceiptId, again.ReceiptId);
        Assert.False(otherSource.Duplicate);
        Assert.Equal(["e-1", "e-3"], (await DrainOutboxAsync()).Select(m => CloudEventJson.Parse(m.CloudEventJson).Id));
        Assert.Equal(2, (await Ledger().ListAsync(null, 100, null)).Items.Count);
    }

    [Fact]
    public async Task A_receipt_expires_after_the_retention_but_never_before_the_deduplication_window()
    {
        var ledger = Ledger(window: TimeSpan.FromMilliseconds(200), retention: TimeSpan.FromMilliseconds(50));
        var accepted = await ledger.AcceptAsync("github-main", "d-old", "push", null, Headers, "a"u8.ToArray(), Events("e-old"));
        var kept = await Ledger().AcceptAsync("github-main", "d-new", "push", null, Headers, "b"u8.ToArray(), Events("e-new"));

        // Retention shorter than the window is raised to the window: a duplicate inside it still finds its receipt.
        var duplicate = await ledger.AcceptAsync("github-main", "d-old", "push", null, Headers, "a"u8.ToArray(), Events("e-dup"));
        Assert.True(duplicate.Duplicate);
        Assert.NotNull(await ledger.GetAsync(duplicate.ReceiptId));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (await ledger.GetAsync(accepted.ReceiptId) is not null)
        {
            Assert.True(DateTime.UtcNow < deadline, "the receipt did not expire");
            await Task.Delay(50);
        }

        var listed = (await ledger.ListAsync("github-main", 100, null)).Items;
        Assert.Equal([kept.ReceiptId], listed.Select(r => r.Id));
        Assert.NotNull(await ledger.GetAsync(kept.ReceiptId));
    }

    [Fact]
    public async Task Concurrent_duplicates_store_one_receipt()
    {
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            Ledger().AcceptAsync("github-main", "d-race", "push", null, Headers, "a"u8.ToArray(), Events("e-race"))));

        Assert.Single(outcomes, o => !o.Duplicate);
        Assert.Single(outcomes.Select(o => o.ReceiptId).Distinct());
        Assert.Single(await DrainOutboxAsync());
    }

    [Fact]
    public async Task After_the_window_the_same_delivery_id_is_a_new_delivery()
    {
        var window = TimeSpan.FromMilliseconds(300);
        var first = await Ledger(window).AcceptAsync("github-main", "d-1", "push", null, Headers, "a"u8.ToArray(), Events("e-1"));

        var deadline = DateTime.UtcNow.AddSeconds(10);
        ReceiptOutcome later;
        while (true)
        {
            later = await Ledger(window).AcceptAsync("github-main", "d-1", "push", null, Headers, "a"u8.ToArray(), Events("e-2"));
            if (!later.Duplicate || DateTime.UtcNow > deadline)
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.False(later.Duplicate);
        Assert.NotEqual(first.ReceiptId, later.ReceiptId);
    }

    [Fact]
    public async Task A_body_derived_id_is_deduplicated_only_for_the_short_window_a_sender_given_one_for_the_full_window()
    {
        var ledger = new ReceiptLedger(Store, TimeProvider.System, TimeSpan.FromHours(72), derivedIdWindow: TimeSpan.FromMilliseconds(300));
        var derived = BodyDigest.DeliveryId("a"u8);
        var first = await ledger.AcceptAsync("am", derived, "alertmanager.alerts", null, Headers, "a"u8.ToArray(), Events("e-1"));
        var given = await ledger.AcceptAsync("am", "d-given", "alertmanager.alerts", null, Headers, "b"u8.ToArray(), Events("e-2"));
        Assert.True((await ledger.AcceptAsync("am", derived, "alertmanager.alerts", null, Headers, "a"u8.ToArray(), Events("e-3"))).Duplicate, "a retry within the window");

        var deadline = DateTime.UtcNow.AddSeconds(10);
        ReceiptOutcome repeat;
        while ((repeat = await ledger.AcceptAsync("am", derived, "alertmanager.alerts", null, Headers, "a"u8.ToArray(), Events("e-4"))).Duplicate)
        {
            Assert.True(DateTime.UtcNow < deadline, "a repeat of a body-derived id stayed a duplicate");
            await Task.Delay(50);
        }

        Assert.NotEqual(first.ReceiptId, repeat.ReceiptId);
        var again = await ledger.AcceptAsync("am", "d-given", "alertmanager.alerts", null, Headers, "b"u8.ToArray(), Events("e-5"));
        Assert.True(again.Duplicate);
        Assert.Equal(given.ReceiptId, again.ReceiptId);
    }

    [Fact]
    public async Task Receipts_list_by_source_oldest_first_a_page_at_a_time()
    {
        var ids = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            ids.Add((await Ledger().AcceptAsync("github-main", $"d-{i}", "push", null, Headers, Encoding.UTF8.GetBytes($"{i}"), [])).ReceiptId);
        }

        await Ledger().AcceptAsync("gitlab-main", "d-x", "push", null, Headers, "x"u8.ToArray(), []);

        var first = await Ledger().ListAsync("github-main", 3, null);
        var second = await Ledger().ListAsync("github-main", 3, first.NextCursor);
        Assert.Equal(ids, first.Items.Concat(second.Items).Select(r => r.Id));
        Assert.Null(second.NextCursor);
        Assert.Null(await Ledger().GetAsync("not-a-receipt-id"));
    }

    [Fact]
    public async Task Very_long_or_odd_delivery_ids_are_safe_keys()
    {
        var odd = new string('x', 5000) + "||/%\u00e9";
        var first = await Ledger().AcceptAsync("github-main", odd, "push", null, Headers, "a"u8.ToArray(), []);
        var again = await Ledger().AcceptAsync("github-main", odd, "push", null, Headers, "a"u8.ToArray(), []);
        Assert.True(again.Duplicate);
        Assert.Equal(first.ReceiptId, again.ReceiptId);
    }
}
