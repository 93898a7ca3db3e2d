namespace Serverless.Webhooks.Inbound;

/// <summary>Commits pushed to a repository, whichever forge sent them.</summary>
/// <param name="Provider">"github" or "gitlab".</param>
/// <param name="Repository">Owner/name path, e.g. "octo-org/octo-repo" or "group/sub/project".</param>
/// <param name="Ref">Full ref, e.g. "refs/heads/main".</param>
/// <param name="Before">Commit the ref pointed at before the push (all zeros for a new ref).</param>
/// <param name="After">Commit the ref points at now (all zeros for a deleted ref).</param>
/// <param name="Pusher">User name of whoever pushed.</param>
public sealed record ScmPush(
    string Provider,
    string Repository,
    string Ref,
    string Before,
    string After,
    IReadOnlyList<ScmCommit> Commits,
    string? Pusher) : NormalisedEvent;
