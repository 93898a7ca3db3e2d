using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>GitHub "push" event payload → <see cref="ScmPush"/>.</summary>
public static class GitHubPushNormaliser
{
    public static ScmPush Normalise(JsonElement root)
    {
        var repository = PayloadReader.Child(root, "repository");
        var commits = PayloadReader.Array(root, "commits").Select(commit =>
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

        return new ScmPush(
            "github",
            PayloadReader.Required(repository, "full_name"),
            PayloadReader.Required(root, "ref"),
            PayloadReader.Required(root, "before"),
            PayloadReader.Required(root, "after"),
            commits,
            PayloadReader.Optional(PayloadReader.Child(root, "pusher"), "name"));
    }
}
