using System.Text;
using System.Text.Json;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class NormaliserTests
{
    // Shape of GitHub's documented push payload, trimmed of fields the normaliser does not read.
    private const string GitHubPush = """
        {
          "ref": "refs/heads/main",
          "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
          "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
          "created": false,
          "deleted": false,
          "forced": false,
          "base_ref": null,
          "compare": "https://github.com/octo-org/octo-repo/compare/6113728f27ae...0d1a26e67d8f",
          "commits": [
            {
              "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
              "tree_id": "f9d2a07e9488b91af2641b26b9407fe22a451433",
              "distinct": true,
              "message": "Update README.md\n\nExplain the deploy step.",
              "timestamp": "2024-03-05T19:40:15-05:00",
              "url": "https://github.com/octo-org/octo-repo/commit/0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
              "author": { "name": "Mona Octocat", "email": "mona@github.com", "username": "octocat" },
              "committer": { "name": "GitHub", "email": "noreply@github.com", "username": "web-flow" },
              "added": ["docs/deploy.md"],
              "removed": [],
              "modified": ["README.md"]
            }
          ],
          "head_commit": { "id": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" },
          "repository": {
            "id": 186853002,
            "name": "octo-repo",
            "full_name": "octo-org/octo-repo",
            "private": false,
            "owner": { "name": "octo-org", "login": "octo-org" },
            "default_branch": "main"
          },
          "pusher": { "name": "octocat", "email": "mona@github.com" },
          "sender": { "login": "octocat", "id": 583231, "type": "User" }
        }
        """;

    // Shape of GitLab's documented "Push Hook" payload.
    private const string GitLabPush = """
        {
          "object_kind": "push",
          "event_name": "push",
          "before": "95790bf891e76fee5e1747ab589903a6a1f80f22",
          "after": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
          "ref": "refs/heads/master",
          "ref_protected": true,
          "checkout_sha": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
          "user_id": 4,
          "user_name": "John Smith",
          "user_username": "jsmith",
          "user_email": "john@example.com",
          "project_id": 15,
          "project": {
            "id": 15,
            "name": "Diaspora",
            "web_url": "http://example.com/mike/diaspora",
            "path_with_namespace": "mike/diaspora",
            "default_branch": "master"
          },
          "repository": { "name": "Diaspora", "url": "git@example.com:mike/diaspora.git" },
          "commits": [
            {
              "id": "b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
              "message": "Update Catalan translation to e38cb41.\n\nSee https://gitlab.com/gitlab-org/gitlab for more information",
              "title": "Update Catalan translation to e38cb41.",
              "timestamp": "2011-12-12T14:27:31+02:00",
              "url": "http://example.com/mike/diaspora/commit/b6568db1bc1dcd7f8b4d5a946b0b91f9dacd7327",
              "author": { "name": "Jordi Mallach", "email": "jordi@softcatala.org" },
              "added": ["CHANGELOG"],
              "modified": ["app/controller/application.rb"],
              "removed": []
            },
            {
              "id": "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
              "message": "fixed readme",
              "title": "fixed readme",
              "timestamp": "2012-01-03T23:36:29+02:00",
              "url": "http://example.com/mike/diaspora/commit/da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
              "author": { "name": "GitLab dev user", "email": "gitlabdev@dv6700.(none)" },
              "added": [],
              "modified": [],
              "removed": ["obsolete.txt"]
            }
          ],
          "total_commits_count": 2
        }
        """;

    // What Alertmanager 0.27 posts (Go writes nanosecond timestamps; firing alerts carry the zero endsAt).
    private const string AlertmanagerPayload = """
        {
          "receiver": "platform-webhook",
          "status": "firing",
          "alerts": [
            {
              "status": "firing",
              "labels": { "alertname": "HighErrorRate", "service": "checkout", "severity": "page" },
              "annotations": { "summary": "5xx above 5% for 10m", "runbook_url": "https://runbooks.example/5xx" },
              "startsAt": "2024-05-01T10:15:30.123456789Z",
              "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://prometheus:9090/graph?g0.expr=rate%28http_errors%5B5m%5D%29",
              "fingerprint": "c7e4a1f2b3d4e5f6"
            },
            {
              "status": "resolved",
              "labels": { "alertname": "HighErrorRate", "service": "cart", "severity": "page" },
              "annotations": { "summary": "5xx above 5% for 10m" },
              "startsAt": "2024-05-01T09:00:00Z",
              "endsAt": "2024-05-01T10:00:00.5Z",
              "generatorURL": "http://prometheus:9090/graph",
              "fingerprint": "0a1b2c3d4e5f6071"
            }
          ],
          "groupLabels": { "alertname": "HighErrorRate" },
          "commonLabels": { "alertname": "HighErrorRate", "severity": "page" },
          "commonAnnotations": { "summary": "5xx above 5% for 10m" },
          "externalURL": "http://alertmanager:9093",
          "version": "4",
          "groupKey": "{}:{alertname=\"HighErrorRate\"}",
          "truncatedAlerts": 0
        }
        """;

    private static NormalisedEvent? Normalise(WebhookKind kind, string? eventType, string json) =>
        WebhookNormaliser.Normalise(kind, eventType, Encoding.UTF8.GetBytes(json));

    [Fact]
    public void GitHub_push_becomes_an_scm_push()
    {
        var push = Assert.IsType<ScmPush>(Normalise(WebhookKind.GitHub, "push", GitHubPush));

        Assert.Equal(("github", "octo-org/octo-repo", "refs/heads/main"), (push.Provider, push.Repository, push.Ref));
        Assert.Equal("6113728f27ae82c7b1a177c8d03f9e96e0adf246", push.Before);
        Assert.Equal("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", push.After);
        Assert.Equal("octocat", push.Pusher);
        var commit = Assert.Single(push.Commits);
        Assert.Equal("0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c", commit.Id);
        Assert.Equal("Update README.md\n\nExplain the deploy step.", commit.Message);
        Assert.Equal(new ScmAuthor("Mona Octocat", "mona@github.com"), commit.Author);
        Assert.Equal(new DateTimeOffset(2024, 3, 5, 19, 40, 15, TimeSpan.FromHours(-5)), commit.Timestamp);
        Assert.Equal(["docs/deploy.md"], commit.Added);
        Assert.Equal(["README.md"], commit.Modified);
        Assert.Empty(commit.Removed);
    }

    [Fact]
    public void GitLab_push_becomes_an_scm_push()
    {
        var push = Assert.IsType<ScmPush>(Normalise(WebhookKind.GitLab, "Push Hook", GitLabPush));

        Assert.Equal(("gitlab", "mike/diaspora", "refs/heads/master"), (push.Provider, push.Repository, push.Ref));
        Assert.Equal("95790bf891e76fee5e1747ab589903a6a1f80f22", push.Before);
        Assert.Equal("da1560886d4f094c3e6c9ef40349f7d38b5d27d7", push.After);
        Assert.Equal("jsmith", push.Pusher);
        Assert.Equal(2, push.Commits.Count);
        Assert.Equal(new ScmAuthor("Jordi Mallach", "jordi@softcatala.org"), push.Commits[0].Author);
        Assert.Equal(["CHANGELOG"], push.Commits[0].Added);
        Assert.Equal(["app/controller/application.rb"], push.Commits[0].Modified);
        Assert.Equal(["obsolete.txt"], push.Commits[1].Removed);
        Assert.Equal(new DateTimeOffset(2012, 1, 3, 23, 36, 29, TimeSpan.FromHours(2)), push.Commits[1].Timestamp);
    }

    [Fact]
    public void Alertmanager_v4_becomes_alerts_received()
    {
        var alerts = Assert.IsType<AlertsReceived>(Normalise(WebhookKind.Alertmanager, "alertmanager.alerts", AlertmanagerPayload));

        Assert.Equal(("platform-webhook", "firing", "http://alertmanager:9093"), (alerts.Receiver, alerts.Status, alerts.ExternalUrl));
        Assert.Equal("HighErrorRate", alerts.GroupLabels["alertname"]);
        Assert.Equal("page", alerts.CommonLabels["severity"]);
        Assert.Equal("{}:{alertname=\"HighErrorRate\"}", alerts.GroupKey);
        Assert.Equal(2, alerts.Alerts.Count);

        var firing = alerts.Alerts[0];
        Assert.Equal("firing", firing.Status);
        Assert.Equal("checkout", firing.Labels["service"]);
        Assert.Equal("https://runbooks.example/5xx", firing.Annotations["runbook_url"]);
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 10, 15, 30, TimeSpan.Zero).AddTicks(1234567), firing.StartsAt);
        Assert.Null(firing.EndsAt);
        Assert.Equal("c7e4a1f2b3d4e5f6", firing.Fingerprint);

        var resolved = alerts.Alerts[1];
        Assert.Equal(new DateTimeOffset(2024, 5, 1, 10, 0, 0, 500, TimeSpan.Zero), resolved.EndsAt);
    }

    [Theory]
    [InlineData(WebhookKind.GitHub, "issues")]
    [InlineData(WebhookKind.GitHub, null)]
    [InlineData(WebhookKind.GitLab, "Merge Request Hook")]
    [InlineData(WebhookKind.Standard, "push")]
    [InlineData(WebhookKind.Generic, "push")]
    public void Unknown_events_are_not_normalised(WebhookKind kind, string? eventType)
    {
        Assert.Null(Normalise(kind, eventType, GitHubPush));
    }

    [Fact]
    public void Alertmanager_payload_of_another_version_is_not_normalised()
    {
        Assert.Null(Normalise(WebhookKind.Alertmanager, "alertmanager.alerts", AlertmanagerPayload.Replace("\"version\": \"4\"", "\"version\": \"5\"", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData("{\"ref\": \"refs/heads/main\"")]
    [InlineData("[]")]
    [InlineData("{\"ref\":\"refs/heads/main\",\"before\":\"a\",\"after\":\"b\"}")] // no repository
    public void Known_event_with_a_broken_payload_throws_json_exception(string json)
    {
        Assert.ThrowsAny<JsonException>(() => Normalise(WebhookKind.GitHub, "push", json));
    }
}
