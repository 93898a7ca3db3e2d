namespace Serverless.Webhooks.Inbound;

/// <summary>A commit author as the forge reports it.</summary>
public sealed record ScmAuthor(string? Name, string? Email);
