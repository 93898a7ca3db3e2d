using System.Text;
using System.Text.Json;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// Events a subscription gave up on (every retry failed, or the event was malformed), and committed events the outbox
/// could not publish (<see cref="DeadLetter.OutboxSubscription"/>). They stay here, visible and replayable, until
/// replayed or deleted.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "'Dead-letter queue' is the messaging term operators know; it is not a Queue<T>.")]
public interface IDeadLetterQueue
{
    /// <summary>Dead letters oldest first, optionally of one subscription; pass <see cref="DeadLetterPage.NextCursor"/> back for the next page.</summary>
    Task<DeadLetterPage> ListAsync(string? subscription = null, int limit = 100, string? cursor = null, CancellationToken cancellationToken = default);

    Task<DeadLetter?> GetAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>
    /// Delivers the event again to the subscription that dead-lettered it (not to the topic's other
    /// subscriptions) and removes the dead letter once that delivery is durable. An event the outbox could not publish
    /// is published to its topic (every subscription). False when there is no such dead letter.
    /// </summary>
    /// <exception cref="UnknownSubscriptionException">The subscription is not registered in this process.</exception>
    /// <exception cref="UnknownTopicException">An outbox dead letter's topic is not declared in this process.</exception>
    /// <exception cref="MalformedCloudEventException">An outbox dead letter that is not a CloudEvent: it can only be deleted.</exception>
    /// <exception cref="InvalidTopicNameException">An outbox dead letter whose topic is not a valid name: it can only be deleted.</exception>
    Task<bool> ReplayAsync(string id, CancellationToken cancellationToken = default);

    /// <summary>Discards a dead letter. False when there is no such dead letter.</summary>
    Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default);
}

/// <param name="Id">Time-ordered: listing by id lists oldest first (an outbox dead letter by when its event was committed).</param>
/// <param name="Subscription">The subscription that gave up, or <see cref="OutboxSubscription"/>.</param>
/// <param name="Event">The structured CloudEvent as delivered; a JSON string holding the raw text when the body was not JSON at all.</param>
/// <param name="EventId">The CloudEvent id, when the event could be parsed.</param>
/// <param name="EventType">The CloudEvent type, when the event could be parsed.</param>
/// <param name="ErrorType">The .NET type of the last exception (<see cref="MalformedCloudEventException"/> for malformed events).</param>
/// <param name="ErrorMessage">The last exception's message only: stack traces stay in the logs.</param>
/// <param name="Attempts">Handler attempts made in the delivery that gave up (0 when the event could not be parsed).</param>
public sealed record DeadLetter(
    string Id,
    string Subscription,
    string Topic,
    JsonElement Event,
    string? EventId,
    string? EventType,
    string ErrorType,
    string ErrorMessage,
    int Attempts,
    DateTimeOffset DeadLetteredAt)
{
    /// <summary>
    /// The subscription name of events the outbox relay could not publish (they never reached a subscription): not a
    /// valid subscription name, so no module's subscription can share it.
    /// </summary>
    public const string OutboxSubscription = "$outbox";

    /// <summary>The bytes to deliver again on replay.</summary>
    internal byte[] ToCloudEventJson() => Event.ValueKind == JsonValueKind.String
        ? Encoding.UTF8.GetBytes(Event.GetString() ?? string.Empty)
        : Encoding.UTF8.GetBytes(Event.GetRawText());

    /// <summary>Keeps the event as JSON when it is JSON, so the HTTP API shows it as an object, and as text otherwise.</summary>
    internal static JsonElement EventAsJson(ReadOnlyMemory<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return JsonSerializer.SerializeToElement(Encoding.UTF8.GetString(body.Span));
        }
    }
}

/// <param name="NextCursor">Null on the last page.</param>
public sealed record DeadLetterPage(IReadOnlyList<DeadLetter> Items, string? NextCursor);

/// <summary>Dead letters as state entries: <c>pubsub||deadletter||{id}</c>, plus a per-subscription index entry.</summary>
internal sealed class DeadLetterStore(IStateStore store, TimeProvider time)
{
    internal const string KeyPrefix = "pubsub||deadletter||";
    internal const string IndexPrefix = "pubsub||deadletter-by-subscription||";

    /// <summary>Longest error message kept: enough to diagnose, not a log file.</summary>
    private const int MaxErrorMessageLength = 4000;

    public Task<DeadLetter> AddAsync(string subscription, string topic, ReadOnlyMemory<byte> body, string? eventId, string? eventType, Exception error, int attempts, CancellationToken cancellationToken) =>
        SaveAsync(TimeOrderedId.Next(time.GetUtcNow()), subscription, topic, body, eventId, eventType, error, attempts, cancellationToken);

    /// <summary>
    /// Dead-letters a committed event the outbox relay cannot publish. Its id comes from the row (when it was committed
    /// and its outbox id), so a relay that dies before it removed the row writes the same dead letter again, not a second.
    /// </summary>
    public Task<DeadLetter> AddFromOutboxAsync(OutboxMessage message, string? eventId, string? eventType, Exception error, CancellationToken cancellationToken) =>
        SaveAsync(TimeOrderedId.For(message.CreatedAt, message.Id), DeadLetter.OutboxSubscription, message.Topic, message.CloudEventJson, eventId, eventType, error, 0, cancellationToken);

    private async Task<DeadLetter> SaveAsync(string id, string subscription, string topic, ReadOnlyMemory<byte> body, string? eventId, string? eventType, Exception error, int attempts, CancellationToken cancellationToken)
    {
        var message = error.Message.Length > MaxErrorMessageLength ? error.Message[..MaxErrorMessageLength] : error.Message;
        var deadLetter = new DeadLetter(
            id,
            subscription,
            topic,
            DeadLetter.EventAsJson(body),
            eventId,
            eventType,
            error.GetType().FullName ?? error.GetType().Name,
            message,
            attempts,
            time.GetUtcNow());
        var transaction = new StateTransaction()
            .UpsertJson(Key(deadLetter.Id), deadLetter)
            .Upsert(IndexKey(subscription, deadLetter.Id), ReadOnlyMemory<byte>.Empty);
        await store.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
        return deadLetter;
    }

    public async Task<Versioned<DeadLetter>?> GetAsync(string id, CancellationToken cancellationToken)
    {
        if (!TimeOrderedId.IsWellFormed(id))
        {
            return null;
        }

        return await store.GetJsonAsync<DeadLetter>(Key(id), cancellationToken).ConfigureAwait(false);
    }

    public async Task<DeadLetterPage> ListAsync(string? subscription, int limit, string? cursor, CancellationToken cancellationToken)
    {
        var prefix = subscription is null ? KeyPrefix : IndexPrefix + subscription + StateKeys.Separator;
        var page = await store.GetJsonPageAsync<DeadLetter>(prefix, limit, cursor, k => Key(k[prefix.Length..]), cancellationToken).ConfigureAwait(false);
        return new DeadLetterPage(page.Items, page.NextCursor);
    }

    /// <summary>Removes the dead letter if it still is the version read (a concurrent replay or delete wins otherwise).</summary>
    public async Task<bool> RemoveAsync(DeadLetter deadLetter, string etag, CancellationToken cancellationToken)
    {
        var transaction = new StateTransaction()
            .Delete(Key(deadLetter.Id), etag)
            .Delete(IndexKey(deadLetter.Subscription, deadLetter.Id));
        try
        {
            await store.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ETagMismatchException)
        {
            return false;
        }
    }

    private static string Key(string id) => KeyPrefix + id;

    private static string IndexKey(string subscription, string id) => IndexPrefix + subscription + StateKeys.Separator + id;
}

/// <summary>Delivers one event again to one subscription, durably (the transport's half of a replay).</summary>
internal interface ISubscriptionRedelivery
{
    Task RedeliverAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, CancellationToken cancellationToken);
}

[System.Diagnostics.CodeAnalysis.SuppressMessage("Naming", "CA1711", Justification = "Implements IDeadLetterQueue.")]
internal sealed class DeadLetterQueue(DeadLetterStore store, TopicRegistry topics, ISubscriptionRedelivery redelivery, IEventPublisher publisher) : IDeadLetterQueue
{
    public Task<DeadLetterPage> ListAsync(string? subscription = null, int limit = 100, string? cursor = null, CancellationToken cancellationToken = default)
    {
        if (subscription is not null and not DeadLetter.OutboxSubscription)
        {
            TopicRegistry.ValidateName(subscription);
        }

        return store.ListAsync(subscription, limit, cursor, cancellationToken);
    }

    public async Task<DeadLetter?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        (await store.GetAsync(id, cancellationToken).ConfigureAwait(false))?.Value;

    public async Task<bool> ReplayAsync(string id, CancellationToken cancellationToken = default)
    {
        var found = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (found is null)
        {
            return false;
        }

        var deadLetter = found.Value;
        if (deadLetter.Subscription == DeadLetter.OutboxSubscription)
        {
            // It never reached pub/sub: publish it to its topic now (both checked first, so a refusal changes nothing).
            var cloudEvent = CloudEventJson.Parse(deadLetter.ToCloudEventJson());
            topics.EnsureKnown(deadLetter.Topic);
            await publisher.PublishAsync(deadLetter.Topic, cloudEvent, cancellationToken).ConfigureAwait(false);
            await store.RemoveAsync(deadLetter, found.ETag, CancellationToken.None).ConfigureAwait(false);
            return true;
        }

        var subscription = topics.Subscriptions.FirstOrDefault(s => string.Equals(s.Name, deadLetter.Subscription, StringComparison.Ordinal))
            ?? throw new UnknownSubscriptionException(deadLetter.Subscription);

        // Redeliver first, forget second: a crash in between leaves a dead letter for an event that
        // was delivered again, which at-least-once handlers tolerate; the other order could lose it.
        await redelivery.RedeliverAsync(subscription, deadLetter.ToCloudEventJson(), cancellationToken).ConfigureAwait(false);
        await store.RemoveAsync(deadLetter, found.ETag, CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    public async Task<bool> DeleteAsync(string id, CancellationToken cancellationToken = default)
    {
        var found = await store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        return found is not null && await store.RemoveAsync(found.Value, found.ETag, cancellationToken).ConfigureAwait(false);
    }
}
