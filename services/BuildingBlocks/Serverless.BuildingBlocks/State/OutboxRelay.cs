using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.PubSub;

namespace Serverless.BuildingBlocks.State;

/// <summary>
/// Moves events committed with state (see <see cref="StateTransaction.Publish"/>) to pub/sub. A row leaves the
/// outbox only after the transport confirmed the publish, so a crash at any point republishes rather than loses:
/// subscribers see at-least-once, deduplicated by event id where it matters.
/// </summary>
public sealed class OutboxRelay(IOutboxStore outbox, IEventPublisher publisher, OutboxSignal signal, ILogger<OutboxRelay> logger) : BackgroundService
{
    private const int BatchSize = 256;
    private static readonly TimeSpan Lease = TimeSpan.FromSeconds(30);

    /// <summary>How often to look for rows committed by other instances (this instance's commits wake the relay at once).</summary>
    public static TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
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
    public async Task<int> RelayBatchAsync(CancellationToken cancellationToken)
    {
        var messages = await outbox.LeaseAsync(BatchSize, Lease, cancellationToken).ConfigureAwait(false);
        if (messages.Count == 0)
        {
            return 0;
        }

        var published = new List<long>(messages.Count);
        try
        {
            foreach (var message in messages)
            {
                await publisher.PublishAsync(message.Topic, CloudEventJson.Parse(message.CloudEventJson), cancellationToken).ConfigureAwait(false);
                published.Add(message.Id);
            }
        }
        finally
        {
            if (published.Count > 0)
            {
                await outbox.CompleteAsync(published, CancellationToken.None).ConfigureAwait(false);
            }
        }

        return published.Count;
    }
}
