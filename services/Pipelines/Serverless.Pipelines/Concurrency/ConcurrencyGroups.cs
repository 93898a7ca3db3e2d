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

    /// <summary>
    /// The longest group used as it is in a storage key: the state stores' 512 characters less the lane key's prefix
    /// (<c>pipelines||group||</c>), so every group that worked before keeps its lane.
    /// </summary>
    public const int MaxReadableKeyLength = 512 - 18;

    private const string HashedPrefix = "#sha256:";

    /// <summary>
    /// The name of a group's lane in storage: the group itself when it fits in a state key, otherwise
    /// <c>#sha256:&lt;hex&gt;</c> of its UTF-8 bytes. A long string parameter (or one holding control characters or
    /// characters outside the BMP, which keys refuse) thus still names one lane; the run keeps the readable group. A
    /// group that itself starts with <c>#sha256:</c> is hashed too, so no written group can pose as another's hash.
    /// </summary>
    public static string LaneKey(string group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var plain = group.Length <= MaxReadableKeyLength && !group.StartsWith(HashedPrefix, StringComparison.Ordinal)
            && !group.Any(c => char.IsControl(c) || char.IsSurrogate(c));
        return plain ? group : HashedPrefix + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(group)));
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
