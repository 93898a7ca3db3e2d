using System.Globalization;
using Serverless.Pipelines.Definitions;

namespace Serverless.Pipelines.Deployments;

/// <summary>
/// Turns a deploy strategy into the ordered operations of a rollout, and, given where a rollout failed, into
/// the operations that put the previous version back. Pure: the executor that talks HTTP comes later.
/// </summary>
public static class DeployPlanner
{
    public static DeployPlan Plan(DeployStrategy strategy, DeployRequest request)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(request);
        return strategy switch
        {
            RollingStrategy rolling => new DeployPlan(Rolling(rolling, request).ToList()),
            BlueGreenStrategy => new DeployPlan(
            [
                new DeploySlot(IdleSlot(request), request.Version),
                new CheckHealth($"slot {IdleSlot(request)}"),
                new SwitchTraffic(IdleSlot(request)),
                new KeepStandby(request.ActiveSlot),
            ]),
            CanaryStrategy canary => new DeployPlan(Canary(canary, request).ToList()),
            _ => throw new ArgumentException($"Unknown deploy strategy {strategy.GetType().Name}.", nameof(strategy)),
        };
    }

    /// <summary>
    /// The operations that undo <paramref name="plan"/> when operation <paramref name="failedAt"/> (an index into
    /// it) failed: only what was already changed is reverted, most recent first. A rolling deploy with no previous
    /// version (<see cref="DeployRequest.PreviousVersion"/> empty: nothing ran before) has nothing to restore.
    /// </summary>
    public static DeployPlan Rollback(DeployStrategy strategy, DeployPlan plan, int failedAt, DeployRequest request)
    {
        ArgumentNullException.ThrowIfNull(strategy);
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentOutOfRangeException.ThrowIfNegative(failedAt);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(failedAt, plan.Operations.Count);
        var done = plan.Operations.Take(failedAt + 1).ToList();
        switch (strategy)
        {
            case RollingStrategy when string.IsNullOrEmpty(request.PreviousVersion):
                // Nothing ran before (a first deploy): there is no version to put back, and never an empty one.
                return new DeployPlan([]);
            case RollingStrategy:
                // Every batch touched so far (the failing one included) goes back to the previous version.
                var operations = new List<DeployOperation>();
                foreach (var batch in done.OfType<DeployInstances>().Reverse())
                {
                    operations.Add(new DeployInstances(batch.Instances, request.PreviousVersion));
                    operations.Add(new CheckHealth(Scope(batch.Instances)));
                }

                return new DeployPlan(operations);
            case BlueGreenStrategy:
                // Before the switch no traffic saw the new version: nothing to undo; after it, switch back.
                return done.OfType<SwitchTraffic>().Any()
                    ? new DeployPlan([new SwitchTraffic(request.ActiveSlot), new CheckHealth($"slot {request.ActiveSlot}")])
                    : new DeployPlan([]);
            case CanaryStrategy:
                return done.OfType<DeployCanary>().Any()
                    ? new DeployPlan([new ShiftTraffic(0), new RemoveCanary()])
                    : new DeployPlan([]);
            default:
                throw new ArgumentException($"Unknown deploy strategy {strategy.GetType().Name}.", nameof(strategy));
        }
    }

    private static IEnumerable<DeployOperation> Rolling(RollingStrategy rolling, DeployRequest request)
    {
        var batchSize = Math.Max(rolling.BatchSize, 1);
        var instances = request.Instances ?? rolling.Instances;
        for (var start = 0; start < instances; start += batchSize)
        {
            var batch = Enumerable.Range(start, Math.Min(batchSize, instances - start)).ToList();
            yield return new DeployInstances(batch, request.Version);
            yield return new CheckHealth(Scope(batch));
        }
    }

    private static IEnumerable<DeployOperation> Canary(CanaryStrategy canary, DeployRequest request)
    {
        yield return new DeployCanary(request.Version);
        for (var i = 0; i < canary.Steps.Count; i++)
        {
            yield return new ShiftTraffic(canary.Steps[i]);
            yield return new CheckHealth("canary");
            if (i == canary.Steps.Count - 1)
            {
                break;
            }

            // The gate between steps: a pause to watch metrics, an approval, or both (pause first).
            if (canary.Pause is { } pause)
            {
                yield return new PauseFor(pause);
            }

            if (canary.Approval)
            {
                yield return new AwaitApproval(canary.Approvers);
            }
        }

        yield return new PromoteCanary(request.Version);
    }

    private static string IdleSlot(DeployRequest request) => string.Equals(request.ActiveSlot, "blue", StringComparison.OrdinalIgnoreCase) ? "green" : "blue";

    private static string Scope(IReadOnlyList<int> batch) => batch.Count == 1
        ? string.Create(CultureInfo.InvariantCulture, $"instance {batch[0]}")
        : string.Create(CultureInfo.InvariantCulture, $"instances {batch[0]}-{batch[^1]}");
}
