namespace Serverless.Pipelines.Service.Triggers;

/// <summary>The payload of <c>scm.push</c> as the webhooks capability publishes it (camelCase JSON); only what triggers need.</summary>
public sealed record ScmPushData(string Repository, string Ref, string? Before, string? After, IReadOnlyList<ScmPushCommit>? Commits, string? Pusher)
{
    public IReadOnlyList<string> ChangedPaths() =>
        (Commits ?? []).SelectMany(c => (c.Added ?? []).Concat(c.Modified ?? []).Concat(c.Removed ?? [])).Distinct(StringComparer.Ordinal).ToList();
}

public sealed record ScmPushCommit(string? Id, string? Message, IReadOnlyList<string>? Added, IReadOnlyList<string>? Modified, IReadOnlyList<string>? Removed);
