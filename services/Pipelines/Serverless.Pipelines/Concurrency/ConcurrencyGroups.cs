using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;

namespace Serverless.Pipelines.Concurrency;

/// <summary>
/// Concurrency lanes with GitHub Actions semantics: per group at most one run in progress and one pending.
/// A newer pending run replaces an older one (the older is cancelled, its work superseded); with
/// <c>cancelInProgress</c> the running one is cancelled too.
/// </summary>
public static class ConcurrencyGroups
{
    /// <summary>The group of a run: the spec's template rendered with the run's parameters and trigger.</summary>
    public static string ResolveGroup(ConcurrencySpec spec, IReadOnlyDictionary<string, object?> parameters, IReadOnlyDictionary<string, object?>? trigger = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return TemplateString.Render(spec.Group, new ExpressionContext { Parameters = parameters, Trigger = trigger ?? new Dictionary<string, object?>() });
    }

    public static ConcurrencyDecision Decide(ConcurrencySpec spec, IReadOnlyList<GroupRun> runsInGroup)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(runsInGroup);
        var running = runsInGroup.Where(r => r.IsRunning).Select(r => r.RunId).ToList();
        var pending = runsInGroup.Where(r => !r.IsRunning).OrderBy(r => r.QueuedAt).Select(r => r.RunId).ToList();
        if (running.Count == 0 && pending.Count == 0)
        {
            return new ConcurrencyDecision(ConcurrencyAction.StartNow, []);
        }

        if (spec.CancelInProgress)
        {
            return new ConcurrencyDecision(ConcurrencyAction.CancelInProgress, [.. running, .. pending]);
        }

        return new ConcurrencyDecision(ConcurrencyAction.Pending, pending);
    }

    /// <summary>When the running run of a group ends: the pending run to start next, if any (the newest; older ones were cancelled).</summary>
    public static string? NextToStart(IReadOnlyList<GroupRun> runsInGroup)
    {
        ArgumentNullException.ThrowIfNull(runsInGroup);
        return runsInGroup.Any(r => r.IsRunning) ? null : runsInGroup.Where(r => !r.IsRunning).OrderBy(r => r.QueuedAt).LastOrDefault()?.RunId;
    }
}
