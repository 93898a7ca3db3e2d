using System.Diagnostics;
using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>How a delivery ended; either way the transport may now acknowledge it.</summary>
internal enum DeliveryOutcome
{
    Handled,
    DeadLettered,
}

/// <summary>
/// Runs one delivery of one event to one subscription, the same way on every transport: parse, trace,
/// call the handler with in-process retries and exponential backoff, and dead-letter after the last failure.
/// It returns only once the event is settled (handled, or its dead letter durably stored); when the
/// process is stopping it throws <see cref="OperationCanceledException"/> instead, so the transport does
/// not acknowledge and the event is delivered again.
/// </summary>
internal sealed partial class EventDispatcher(
    IServiceScopeFactory scopes,
    DeadLetterStore deadLetters,
    PubSubOptions options,
    TimeProvider time,
    ILogger<EventDispatcher> logger)
{
    public async Task<DeliveryOutcome> DispatchAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> cloudEventJson, bool redelivered, CancellationToken stopping)
    {
        CloudEvent cloudEvent;
        try
        {
            cloudEvent = CloudEventJson.Parse(cloudEventJson);
        }
        catch (MalformedCloudEventException ex)
        {
            // Retrying cannot make malformed bytes parse.
            LogMalformed(logger, subscription.Name, ex.Problem);
            await DeadLetterAsync(subscription, cloudEventJson, null, ex, 0, stopping).ConfigureAwait(false);
            return DeliveryOutcome.DeadLettered;
        }

        using var activity = EventTracing.StartHandle(subscription.Topic, subscription.Name, cloudEvent);
        var tags = new TagList
        {
            { "messaging.destination.name", subscription.Topic },
            { "messaging.consumer.group.name", subscription.Name },
        };

        for (var attempt = 1; ; attempt++)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    var handler = (ISubscriptionHandler)scope.ServiceProvider.GetRequiredService(subscription.HandlerType);
                    await handler.HandleAsync(cloudEvent, new EventContext(subscription.Topic, subscription.Name, attempt, redelivered), stopping).ConfigureAwait(false);
                }

                RecordDuration(started, tags, "success");
                ServerlessTelemetry.EventsHandled.Add(1, tags);
                return DeliveryOutcome.Handled;
            }
            catch (Exception ex) when (stopping.IsCancellationRequested)
            {
                // Whatever the handler threw while we were stopping, it was interrupted, not wrong: leave the event unacknowledged.
                RecordDuration(started, tags, "interrupted");
                throw new OperationCanceledException("The subscription stopped while the handler ran; the event will be delivered again.", ex, stopping);
            }
            catch (Exception ex)
            {
                RecordDuration(started, tags, "failure");
                if (attempt > options.MaxRetries)
                {
                    LogGaveUp(logger, ex, subscription.Name, cloudEvent.Id, attempt);
                    activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                    await DeadLetterAsync(subscription, cloudEventJson, cloudEvent, ex, attempt, stopping).ConfigureAwait(false);
                    return DeliveryOutcome.DeadLettered;
                }

                var backoff = Backoff(options, attempt);
                LogRetrying(logger, ex, subscription.Name, cloudEvent.Id, attempt, backoff.TotalMilliseconds);
                await Task.Delay(backoff, time, stopping).ConfigureAwait(false);
            }
        }
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/>: initial × multiplier^(attempt-1), capped.</summary>
    internal static TimeSpan Backoff(PubSubOptions options, int attempt)
    {
        var milliseconds = options.InitialBackoff.TotalMilliseconds * Math.Pow(options.BackoffMultiplier, attempt - 1);
        return milliseconds >= options.MaxBackoff.TotalMilliseconds ? options.MaxBackoff : TimeSpan.FromMilliseconds(milliseconds);
    }

    /// <summary>
    /// Stores the dead letter, retrying while the store is unavailable: the event is acknowledged only
    /// after this returns, so giving up here would lose it.
    /// </summary>
    private async Task DeadLetterAsync(SubscriptionDescriptor subscription, ReadOnlyMemory<byte> body, CloudEvent? cloudEvent, Exception error, int attempts, CancellationToken stopping)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await deadLetters.AddAsync(subscription.Name, subscription.Topic, body, cloudEvent?.Id, cloudEvent?.Type, error, attempts, stopping).ConfigureAwait(false);
                ServerlessTelemetry.EventsDeadLettered.Add(
                    1,
                    new KeyValuePair<string, object?>("messaging.destination.name", subscription.Topic),
                    new KeyValuePair<string, object?>("messaging.consumer.group.name", subscription.Name));
                return;
            }
            catch (Exception ex) when (!stopping.IsCancellationRequested)
            {
                var backoff = Backoff(options, attempt);
                LogDeadLetterFailed(logger, ex, subscription.Name, backoff.TotalMilliseconds);
                await Task.Delay(backoff, time, stopping).ConfigureAwait(false);
            }
        }
    }

    private static void RecordDuration(long started, TagList tags, string outcome)
    {
        tags.Add("outcome", outcome);
        ServerlessTelemetry.HandlerDuration.Record(Stopwatch.GetElapsedTime(started).TotalMilliseconds, tags);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription {Subscription} received a malformed event ({Problem}); dead-lettering it")]
    private static partial void LogMalformed(ILogger logger, string subscription, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscription {Subscription} failed event {EventId} on attempt {Attempt}; retrying in {BackoffMs} ms")]
    private static partial void LogRetrying(ILogger logger, Exception error, string subscription, string eventId, int attempt, double backoffMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Subscription {Subscription} failed event {EventId} {Attempts} times; dead-lettering it")]
    private static partial void LogGaveUp(ILogger logger, Exception error, string subscription, string eventId, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Storing a dead letter of subscription {Subscription} failed; trying again in {BackoffMs} ms")]
    private static partial void LogDeadLetterFailed(ILogger logger, Exception error, string subscription, double backoffMs);
}
