using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class GitLabVerifierTests
{
    private const string Secret = "gl-token-abcdef";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"object_kind":"push"}""");

    [Fact]
    public void Matching_token_verifies_with_event_and_uuid()
    {
        var headers = Signing.Headers(
            ("X-Gitlab-Token", Secret), ("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Event-UUID", "13792a34-cac6-4fda-95a8-c58e00a3954e"));

        var result = new GitLabVerifier([Secret]).Verify(headers, Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal("Push Hook", result.EventType);
        Assert.Equal("13792a34-cac6-4fda-95a8-c58e00a3954e", result.DeliveryId);
    }

    [Fact]
    public void Idempotency_key_is_the_id_when_there_is_no_event_uuid()
    {
        var headers = Signing.Headers(("X-Gitlab-Token", Secret), ("Idempotency-Key", "key-1"));

        Assert.Equal("key-1", new GitLabVerifier([Secret]).Verify(headers, Body, Signing.Now).DeliveryId);
    }

    [Fact]
    public void Missing_token_is_rejected()
    {
        var result = new GitLabVerifier([Secret]).Verify(Signing.Headers(("X-Gitlab-Event", "Push Hook")), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.MissingSignature, Secret);
    }

    [Fact]
    public void Empty_token_is_malformed()
    {
        var result = new GitLabVerifier([Secret]).Verify(Signing.Headers(("X-Gitlab-Token", "")), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.MalformedHeader, Secret);
    }

    [Theory]
    [InlineData("gl-token-abcdeg")]
    [InlineData("gl-token-abcde")]
    [InlineData("gl-token-abcdeff")]
    [InlineData("GL-TOKEN-ABCDEF")]
    public void Wrong_token_is_rejected(string token)
    {
        var result = new GitLabVerifier([Secret]).Verify(Signing.Headers(("X-Gitlab-Token", token)), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.BadSignature, Secret, token);
    }

    [Fact]
    public void Second_secret_matching_is_enough_for_rotation()
    {
        var result = new GitLabVerifier(["old", Secret]).Verify(Signing.Headers(("X-Gitlab-Token", Secret)), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }
}
