using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class AlertmanagerVerifierTests
{
    private const string Token = "am-bearer-token-xyz";
    private const string BasicSecret = "alertmanager:s3cr3t-p4ss";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"version":"4","status":"firing","alerts":[]}""");

    private static string Basic(string userPass) => "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(userPass));

    [Fact]
    public void Bearer_token_verifies_with_body_derived_id()
    {
        var result = new AlertmanagerVerifier([Token]).Verify(Signing.Headers(("Authorization", "Bearer " + Token)), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal("alertmanager.alerts", result.EventType);
        Assert.Equal(BodyDigest.DeliveryId(Body), result.DeliveryId);
    }

    [Fact]
    public void Retried_identical_body_gets_the_same_id_and_a_different_body_another()
    {
        var verifier = new AlertmanagerVerifier([Token]);
        var headers = Signing.Headers(("Authorization", "Bearer " + Token));
        var other = Encoding.UTF8.GetBytes("""{"version":"4","status":"resolved","alerts":[]}""");

        Assert.Equal(verifier.Verify(headers, Body, Signing.Now).DeliveryId, verifier.Verify(headers, Body, Signing.Now.AddHours(1)).DeliveryId);
        Assert.NotEqual(verifier.Verify(headers, Body, Signing.Now).DeliveryId, verifier.Verify(headers, other, Signing.Now).DeliveryId);
    }

    [Fact]
    public void Basic_credentials_verify_against_a_user_password_secret()
    {
        var result = new AlertmanagerVerifier([Token, BasicSecret]).Verify(Signing.Headers(("authorization", Basic(BasicSecret))), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }

    [Fact]
    public void Missing_authorization_is_rejected()
    {
        Signing.AssertRejected(new AlertmanagerVerifier([Token]).Verify(Signing.Headers(), Body, Signing.Now), VerificationFailure.MissingSignature, Token);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Digest abc")]
    [InlineData("Basic %%%not-base64")]
    [InlineData("Basic bm8tY29sb24=")] // "no-colon"
    [InlineData("am-bearer-token-xyz")]
    public void Malformed_authorization_is_rejected(string header)
    {
        Signing.AssertRejected(new AlertmanagerVerifier([Token]).Verify(Signing.Headers(("Authorization", header)), Body, Signing.Now), VerificationFailure.MalformedHeader, Token);
    }

    [Fact]
    public void Wrong_bearer_token_or_password_is_rejected()
    {
        var verifier = new AlertmanagerVerifier([Token, BasicSecret]);

        Signing.AssertRejected(verifier.Verify(Signing.Headers(("Authorization", "Bearer nope")), Body, Signing.Now), VerificationFailure.BadSignature, Token, BasicSecret);
        Signing.AssertRejected(verifier.Verify(Signing.Headers(("Authorization", Basic("alertmanager:wrong"))), Body, Signing.Now), VerificationFailure.BadSignature, Token, "s3cr3t-p4ss");
    }
}
