using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class GitHubVerifierTests
{
    private const string Secret = "gh-secret-0123456789";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"ref":"refs/heads/main"}""");

    [Fact]
    public void Header_names_match_case_insensitively_even_with_an_ordinal_dictionary()
    {
        var headers = Signing.Headers(("x-hub-signature-256", Signing.GitHub(Secret, Body)), ("x-github-event", "push"));

        var result = new GitHubVerifier([Secret]).Verify(headers, Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal("push", result.EventType);
    }

    [Fact]
    public void Missing_signature_header_is_rejected()
    {
        var result = new GitHubVerifier([Secret]).Verify(Signing.Headers(("X-GitHub-Event", "push")), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.MissingSignature, Secret);
    }

    [Theory]
    [InlineData("757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")] // no prefix
    [InlineData("sha1=757107ea0eb2509fc211221cce984b8a37570b6d")]
    [InlineData("sha256=zz7107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")]
    [InlineData("sha256=757107")]
    [InlineData("sha256=")]
    public void Malformed_signature_header_is_rejected(string header)
    {
        var result = new GitHubVerifier([Secret]).Verify(Signing.Headers(("X-Hub-Signature-256", header)), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.MalformedHeader, Secret);
    }

    [Fact]
    public void Signature_made_with_another_secret_is_rejected_without_revealing_the_expected_one()
    {
        var headers = Signing.Headers(("X-Hub-Signature-256", Signing.GitHub("wrong", Body)));

        var result = new GitHubVerifier([Secret]).Verify(headers, Body, Signing.Now);

        var expected = Signing.GitHub(Secret, Body);
        Signing.AssertRejected(result, VerificationFailure.BadSignature, Secret, expected, expected["sha256=".Length..]);
    }

    [Fact]
    public void Second_configured_secret_matching_is_enough_for_rotation()
    {
        var headers = Signing.Headers(("X-Hub-Signature-256", Signing.GitHub("new-secret", Body)));

        var result = new GitHubVerifier([Secret, "new-secret"]).Verify(headers, Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }

    [Fact]
    public void Without_a_delivery_header_the_id_is_the_body_digest()
    {
        var headers = Signing.Headers(("X-Hub-Signature-256", Signing.GitHub(Secret, Body)));

        var result = new GitHubVerifier([Secret]).Verify(headers, Body, Signing.Now);

        Assert.Equal(BodyDigest.DeliveryId(Body), result.DeliveryId);
        Assert.StartsWith("sha256:", result.DeliveryId, StringComparison.Ordinal);
    }
}
