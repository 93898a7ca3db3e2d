using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.BuildingBlocks.State;

/// <summary>Reads already hide expired keys; this deletes their rows now and then so tables don't grow.</summary>
public sealed class ExpiredStateSweeper(Func<CancellationToken, Task<int>> sweep, ILogger<ExpiredStateSweeper> logger) : BackgroundService
{
    private static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                var removed = await sweep(stoppingToken).ConfigureAwait(false);
                if (removed > 0)
                {
                    logger.LogDebug("Removed {Count} expired state keys", removed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogWarning(ex, "Sweeping expired state failed");
            }
        }
    }
}
