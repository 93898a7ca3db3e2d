using Serverless.BuildingBlocks.Timers;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Promotions.Functions;

/// <summary>Timer trigger: hands whatever has come due in the lifecycle (activate, end, settle) to the catalog.</summary>
public sealed class PromotionLifecycleTimer(PromotionCatalog catalog) : ITimerFunction
{
    public Task RunAsync(TimerInfo timer, CancellationToken cancellationToken) => catalog.RunDueAsync(cancellationToken);
}
