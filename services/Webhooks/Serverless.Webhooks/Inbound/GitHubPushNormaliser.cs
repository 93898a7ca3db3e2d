using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>GitHub "push" event payload → <see cref="ScmPush"/>.</summary>
public static class GitHubPushNormaliser
{
    public static ScmPush Normalise(JsonElement root)
    {
        var repository = PayloadReader.Child(root, "repository");
        var commits = ScmCommits.Read(root);

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
