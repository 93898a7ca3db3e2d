namespace Serverless.Pipelines.Triggers;

/// <summary>
/// A push as a source-control webhook reports it: <see cref="Ref"/> like <c>refs/heads/main</c>, paths relative to the
/// repository root. <see cref="Deleted"/>: the push deleted the branch (GitHub and GitLab report the new commit as all zeros).
/// </summary>
public sealed record PushEvent(string Repository, string Ref, IReadOnlyList<string> ChangedPaths, bool Deleted = false)
{
    /// <summary>True for the all-zero commit id both GitHub and GitLab send as <c>after</c> when a branch is deleted.</summary>
    public static bool IsDeletion(string? after) => after is { Length: > 0 } && after.All(c => c == '0');
}
