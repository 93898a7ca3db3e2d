using Serverless.Pipelines.Definitions;

namespace Serverless.Pipelines.Triggers;

/// <summary>Decides whether a push starts a pipeline: repository, branch globs and changed-path globs must all agree.</summary>
public static class PushTriggerMatcher
{
    private const string BranchPrefix = "refs/heads/";

    public static bool Matches(PushTrigger trigger, PushEvent push)
    {
        ArgumentNullException.ThrowIfNull(trigger);
        ArgumentNullException.ThrowIfNull(push);
        if (trigger.Repository is { } repository && !string.Equals(repository, push.Repository, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        // Branch triggers react to new commits on branches only: a tag push (refs/tags/...) or a deleted branch never matches.
        if (push.Deleted || !push.Ref.StartsWith(BranchPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        if (!GlobPattern.MatchesList(trigger.Branches, push.Ref[BranchPrefix.Length..]))
        {
            return false;
        }

        // A path filter needs at least one changed path it includes; a push that reports no paths does not match it.
        return trigger.Paths.Count == 0 || push.ChangedPaths.Any(path => GlobPattern.MatchesList(trigger.Paths, path.TrimStart('/')));
    }

    /// <summary>Whether any push trigger of <paramref name="definition"/> matches.</summary>
    public static bool Matches(PipelineDefinition definition, PushEvent push)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return definition.Triggers.OfType<PushTrigger>().Any(t => Matches(t, push));
    }
}
