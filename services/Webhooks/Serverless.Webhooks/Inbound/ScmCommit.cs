namespace Serverless.Webhooks.Inbound;

/// <summary>One commit of a push, with the paths it touched.</summary>
public sealed record ScmCommit(
    string Id,
    string Message,
    ScmAuthor Author,
    DateTimeOffset? Timestamp,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Modified,
    IReadOnlyList<string> Removed);
