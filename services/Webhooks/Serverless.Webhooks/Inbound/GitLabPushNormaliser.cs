using System.Text.Json;

namespace Serverless.Webhooks.Inbound;

/// <summary>GitLab "Push Hook" payload → <see cref="ScmPush"/>.</summary>
public static class GitLabPushNormaliser
{
    public static ScmPush Normalise(JsonElement root)
    {
        var commits = ScmCommits.Read(root);

        // project.path_with_namespace is the "group/project" path; older payloads only carry repository.name.
        var repository = PayloadReader.Optional(PayloadReader.Child(root, "project"), "path_with_namespace")
            ?? PayloadReader.Required(PayloadReader.Child(root, "repository"), "name");

        return new ScmPush(
            "gitlab",
            repository,
            PayloadReader.Required(root, "ref"),
            PayloadReader.Required(root, "before"),
            PayloadReader.Required(root, "after"),
            commits,
            PayloadReader.Optional(root, "user_username") ?? PayloadReader.Optional(root, "user_name"));
    }
}
