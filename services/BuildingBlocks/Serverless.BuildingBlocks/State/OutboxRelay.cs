using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.PubSub;

namespace Serverless.BuildingBlocks.State;

/// <summary>
/// Moves events committed with state (see <see cref="StateTransaction.Publish"/>) to pub/sub. A row leaves the
/// outbox only after the transport confirmed the publish, so a crash at any point republishes rather than loses:
/// subscribers see at-least-once, deduplicated by event id where it matters. A row no relay can ever publish — not a
/// CloudEvent, or for a topic this process has not declared for longer than <see cref="PubSubOptions.OutboxUnknownTopicGrace"/>
/// — becomes a dead letter (<see cref="DeadLetter.OutboxSubscription"/>) instead of being refused every lease for ever.
/// </summary>
public sealed class OutboxRelay : BackgroundService
{
    private const int BatchSize = 256;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    private readonly IOutboxStore outbox;
    private readonly IEventPublisher publisher;
    private readonly OutboxSignal signal;
    private readonly ILogger<OutboxRelay> logger;
    private readonly DeadLetterStore? deadLetters;
    private readonly TimeProvider time;
    private readonly TimeSpan unknownTopicGrace;

    /// <summary>A relay that never dead-letters: rows it cannot publish stay in the outbox (tests of a store alone).</summary>
    public OutboxRelay(IOutboxStore outbox, IEventPublisher publisher, OutboxSignal signal, ILogger<OutboxRelay> logger)
        : this(outbox, publisher, signal, logger, null, TimeProvider.System, Timeout.InfiniteTimeSpan)
    {
    }

    /// <param name="unknownTopicGrace">How long a row for a topic this process does not declare stays in the outbox
    /// (another instance, say a newer version during a rolling deploy, may know it) before it is dead-lettered;
    /// <see cref="Timeout.InfiniteTimeSpan"/>: never.</param>
    internal OutboxRelay(IOutboxStore outbox, IEventPublisher publisher, OutboxSignal signal, ILogger<OutboxRelay> logger, DeadLetterStore? deadLetters, TimeProvider time, TimeSpan unknownTopicGrace)
    {
        this.outbox = outbox;
        this.publisher = publisher;
        this.signal = signal;
        this.logger = logger;
        this.deadLetters = deadLetters;
        this.time = time;
        this.unknownTopicGrace = unknownTopicGrace;
    }

    /// <summary>How often to look for rows committed by other instances (this instance's commits wake the relay at once).</summary>
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Rows this process commits are handed over (written leased to this relay) while it runs; the poll takes the
        // rest: rows of other processes or from before, and handed-over rows whose publish failed, once their lease ends.
        var handoffs = signal.AcceptHandoffs();
        await Task.WhenAll(PollAsync(stoppingToken), RelayHandoffsAsync(handoffs, stoppingToken)).ConfigureAwait(false);
    }

    private async Task RelayHandoffsAsync(ChannelReader<OutboxMessage> handoffs, CancellationToken stoppingToken)
    {
        var batch = new List<OutboxMessage>(BatchSize);
        try
        {
            while (await handoffs.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
            {
                batch.Clear();
                while (batch.Count < BatchSize && handoffs.TryRead(out var message))
                {
                    batch.Add(message);
                }

                try
                {
                    await PublishAsync(batch, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    // The rows stay leased; the poll publishes them once the lease ends.
                    logger.LogWarning(ex, "Publishing {Count} committed outbox rows failed; they are retried once their lease ends", batch.Count);
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: what was handed over and not published is given back below.
        }

        // Stopping: the rows handed over but not published (still in the outbox) are given back, so the next relay —
        // another instance's, or this one after a restart — takes them at once instead of after their lease.
        signal.StopHandoffs();
        var left = batch.Select(m => m.Id).ToList();
        while (handoffs.TryRead(out var message))
        {
            left.Add(message.Id);
        }

        if (left.Count > 0)
        {
            try
            {
                await outbox.ReleaseAsync(left, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                logger.LogWarning(ex, "Giving back {Count} outbox rows failed; they are relayed once their lease ends", left.Count);
            }
        }
    }

    private async Task PollAsync(CancellationToken stoppingToken)
    {
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var relayed = await RelayBatchAsync(stoppingToken).ConfigureAwait(false);
                failures = 0;
                if (relayed == BatchSize)
                {
                    continue;
                }

                await signal.WaitAsync(PollInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                failures++;
                var delay = TimeSpan.FromMilliseconds(Math.Min(30_000, 100 * Math.Pow(2, Math.Min(failures, 10))));
                logger.LogWarning(ex, "Outbox relay failed ({Failures} in a row); retrying in {Delay}", failures, delay);
                await Task.Delay(delay, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Publishes one batch of leased rows; returns how many were relayed.</summary>
    /// <remarks>
    /// The batch is published concurrently: each publish completes only once the transport has it durably
    /// (a ledger commit, a broker confirm), and awaiting them one by one made the relay one commit per event —
    /// far slower than the writes filling the outbox. Rows whose publish failed stay leased and come back
    /// when the lease ends.
    /// </remarks>
    public async Task<int> RelayBatchAsync(CancellationToken cancellationToken)
    {
        var messages = await outbox.LeaseAsync(BatchSize, Lease, cancellationToken).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return 0;
        }

        await PublishAsync(messages, cancellationToken).ConfigureAwait(false);
        return messages.Count;
    }

    /// <summary>
    /// Publishes leased rows and deletes the ones the transport confirmed, and the ones no relay can ever publish once
    /// they are dead letters; the others stay leased (the first of their errors is thrown).
    /// </summary>
    private async Task PublishAsync(IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var publishes = publisher is IBatchEventPublisher batches
            ? PublishInBatches(batches, messages, cancellationToken)
            : [.. messages.Select(m => PublishAsync(m, cancellationToken))];

        Exception? failure = null;
        try
        {
            await Task.WhenAll(publishes).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            failure = ex;
        }

        var done = new List<long>(messages.Count);
        Task? leftFailed = null;
        for (var i = 0; i < messages.Count; i++)
        {
            var publish = publishes[i];
            if (publish.IsCompletedSuccessfully)
            {
                done.Add(messages[i].Id);
            }
            else if (publish.Exception?.InnerException is { } error && CannotEverPublish(messages[i], error)
                && await TryDeadLetterAsync(messages[i], error).ConfigureAwait(false))
            {
                done.Add(messages[i].Id);
            }
            else
            {
                leftFailed ??= publish;
            }
        }

        if (done.Count > 0)
        {
            await outbox.CompleteAsync(done, CancellationToken.None).ConfigureAwait(false);
        }

        if (leftFailed is not null)
        {
            ExceptionDispatchInfo.Throw(leftFailed.Exception?.InnerException ?? failure ?? new OperationCanceledException(cancellationToken));
        }
    }

    /// <summary>
    /// Malformed rows and rows for a name no process can declare at once; rows for a topic this process does not declare
    /// once their grace is over.
    /// </summary>
    private bool CannotEverPublish(OutboxMessage message, Exception error) => deadLetters is not null && error switch
    {
        MalformedCloudEventException or InvalidTopicNameException => true,
        UnknownTopicException =>
            unknownTopicGrace != Timeout.InfiniteTimeSpan && time.GetUtcNow() - message.CreatedAt >= unknownTopicGrace,
        _ => false,
    };

    private async Task<bool> TryDeadLetterAsync(OutboxMessage message, Exception error)
    {
        string? eventId = null;
        string? eventType = null;
        if (error is not MalformedCloudEventException)
        {
            try
            {
                var cloudEvent = CloudEventJson.Parse(message.CloudEventJson);
                (eventId, eventType) = (cloudEvent.Id, cloudEvent.Type);
            }
            catch (MalformedCloudEventException)
            {
                // Kept without id and type.
            }
        }

        try
        {
            var deadLetter = await deadLetters!.AddFromOutboxAsync(message, eventId, eventType, error, CancellationToken.None).ConfigureAwait(false);
            logger.LogError(
                "Outbox row {RowId} (topic {Topic}, event {EventId}) can never be published ({Reason}); it is dead letter {DeadLetterId}",
                message.Id, message.Topic, eventId, error.GetType().Name, deadLetter.Id);
            return true;
        }
        catch (Exception ex)
        {
            // The row stays leased and comes back when the lease ends.
            logger.LogWarning(ex, "Dead-lettering outbox row {RowId} failed; it is tried again once its lease ends", message.Id);
            return false;
        }
    }

    /// <summary>
    /// The rows of one topic go together (in their order, at most <see cref="IBatchEventPublisher.MaxBatch"/> a time),
    /// each row's task being its batch's publish; a row that no longer parses fails alone.
    /// </summary>
    private static Task[] PublishInBatches(IBatchEventPublisher batches, IReadOnlyList<OutboxMessage> messages, CancellationToken cancellationToken)
    {
        var publishes = new Task[messages.Count];
        foreach (var topic in messages.Select((m, i) => (m.Topic, i)).GroupBy(x => x.Topic, x => x.i, StringComparer.Ordinal))
        {
            foreach (var chunk in topic.Chunk(batches.MaxBatch))
            {
                var events = new List<Azure.Messaging.CloudEvent>(chunk.Length);
                var members = new List<int>(chunk.Length);
                foreach (var i in chunk)
                {
                    try
                    {
                        events.Add(CloudEventJson.Parse(messages[i].CloudEventJson));
                        members.Add(i);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        publishes[i] = Task.FromException(ex);
                    }
                }

                var publish = events.Count switch
                {
                    0 => Task.CompletedTask,
                    1 => batches.PublishAsync(topic.Key, events[0], cancellationToken),
                    _ => batches.PublishBatchAsync(topic.Key, events, cancellationToken),
                };
                foreach (var i in members)
                {
                    publishes[i] = publish;
                }
            }
        }

        return publishes;
    }

    private Task PublishAsync(OutboxMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return publisher.PublishAsync(message.Topic, CloudEventJson.Parse(message.CloudEventJson), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A row that no longer parses must not stop the rest of the batch.
            return Task.FromException(ex);
        }
    }
}
