using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.Promotions.Service.Active;

/// <summary>Keeps <see cref="ActivePromotions"/> current: a cheap version check every interval, or at once when woken.</summary>
public sealed class ActivePromotionsRefresher(ActivePromotions active, PromotionsOptions options, ILogger<ActivePromotionsRefresher> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await active.RefreshAsync(cancellationToken: stoppingToken).ConfigureAwait(false);
                await active.WaitForWakeAsync(options.RefreshInterval, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The state store may be briefly unreachable; calculate keeps serving the last view meanwhile.
                logger.LogWarning(ex, "Refreshing the active promotions failed; retrying");
                await Task.Delay(options.RefreshInterval, stoppingToken).ConfigureAwait(false);
            }
        }
    }
}
