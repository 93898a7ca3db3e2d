using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>GitHub and GitLab push payloads describe commits the same way: id, message, author, timestamp, file lists.</summary>
internal static class ScmCommits
{
    public static List<ScmCommit> Read(JsonElement root) =>
        PayloadReader.Array(root, "commits").Select(commit =>
        {
            var author = PayloadReader.Child(commit, "author");
            return new ScmCommit(
                PayloadReader.Required(commit, "id"),
                PayloadReader.Optional(commit, "message") ?? string.Empty,
                new ScmAuthor(PayloadReader.Optional(author, "name"), PayloadReader.Optional(author, "email")),
                PayloadReader.Timestamp(commit, "timestamp"),
                PayloadReader.Strings(commit, "added"),
                PayloadReader.Strings(commit, "modified"),
                PayloadReader.Strings(commit, "removed"));
        }).ToList();
}
