using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class WebhookSourceValidatorTests
{
    private static List<string> Problems(WebhookSource source) => [.. WebhookSourceValidator.Validate(source).Select(p => p.ToString())];

    [Theory]
    [InlineData("github")]
    [InlineData("GitLab")]
    [InlineData("alertmanager")]
    public void Valid_sources_have_no_problems(string kind)
    {
        Assert.Empty(Problems(new WebhookSource("repo-events", kind, ["s1", "s2"])));
    }

    [Fact]
    public void Valid_standard_and_generic_sources_have_no_problems()
    {
        Assert.Empty(Problems(new WebhookSource("billing", "standard", ["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"], new() { Tolerance = TimeSpan.FromMinutes(2) })));
        Assert.Empty(Problems(new WebhookSource("shop", "generic", ["k"], new() { Header = "X-Sig", Algorithm = "sha512", Encoding = "base64", TimestampHeader = "X-Ts" })));
        Assert.Empty(Problems(new WebhookSource("ci", "generic", ["k"], new() { Mode = "bearer" })));
    }

    [Fact]
    public void Generic_hmac_without_header_names_the_field()
    {
        Assert.Equal(["options.header: required for kind 'generic'"], Problems(new WebhookSource("shop", "generic", ["k"])));
    }

    [Fact]
    public void Every_problem_is_reported_with_its_path()
    {
        var source = new WebhookSource("bad name!", "generic", ["k", ""], new() { Algorithm = "md5", Encoding = "base32", Tolerance = TimeSpan.Zero });

        var paths = WebhookSourceValidator.Validate(source).Select(p => p.Path).ToList();

        Assert.Equal(["name", "secrets[1]", "options.tolerance", "options.header", "options.algorithm", "options.encoding", "options.tolerance"], paths);
    }

    [Fact]
    public void A_name_over_100_characters_is_refused_like_the_store_refuses_it()
    {
        Assert.Empty(Problems(new WebhookSource(new string('a', 100), "github", ["s"])));
        Assert.Equal(["name: must be at most 100 characters"], Problems(new WebhookSource(new string('a', 101), "github", ["s"])));
        Assert.True(WebhookSourceValidator.IsValidName(new string('a', 100)));
        Assert.False(WebhookSourceValidator.IsValidName(new string('a', 101)));
    }

    [Fact]
    public void Unknown_kind_and_missing_secrets_are_reported()
    {
        var paths = WebhookSourceValidator.Validate(new WebhookSource("", "bitbucket", [])).Select(p => p.Path).ToList();

        Assert.Equal(["name", "kind", "secrets"], paths);
    }

    [Fact]
    public void Standard_secret_without_prefix_is_reported_without_its_value()
    {
        var problems = WebhookSourceValidator.Validate(new WebhookSource("billing", "standard", ["whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=", "plain-secret-value"]));

        var problem = Assert.Single(problems);
        Assert.Equal("secrets[1]", problem.Path);
        Assert.DoesNotContain("plain-secret-value", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Generic_only_options_on_another_kind_are_reported()
    {
        Assert.Equal(["options.header: not used by kind 'github'"], Problems(new WebhookSource("gh", "github", ["s"], new() { Header = "X-Sig" })));
    }

    [Fact]
    public void Factory_refuses_an_invalid_source_listing_problems_but_no_secrets()
    {
        var error = Assert.Throws<ArgumentException>(() => WebhookVerifiers.For(new WebhookSource("shop", "generic", ["super-secret-value"])));

        Assert.Contains("options.header", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("super-secret-value", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("github", typeof(GitHubVerifier))]
    [InlineData("gitlab", typeof(GitLabVerifier))]
    [InlineData("alertmanager", typeof(AlertmanagerVerifier))]
    public void Factory_picks_the_verifier_for_the_kind(string kind, Type expected)
    {
        Assert.IsType(expected, WebhookVerifiers.For(new WebhookSource("src", kind, ["s"])));
    }

    [Fact]
    public void Source_text_never_shows_secrets()
    {
        var text = new WebhookSource("src", "github", ["very-secret-1", "very-secret-2"]).ToString();

        Assert.DoesNotContain("very-secret", text, StringComparison.Ordinal);
        Assert.Contains("2 redacted", text, StringComparison.Ordinal);
    }
}
