using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class GenericVerifierTests
{
    private const string Secret = "generic-secret-42";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"event":"order.created","id":7}""");
    private static readonly string Timestamp = Signing.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static IWebhookVerifier Verifier(WebhookSourceOptions options, params string[] secrets) =>
        WebhookVerifiers.For(new WebhookSource("shop", "generic", secrets.Length == 0 ? [Secret] : secrets, options));

    private static byte[] Mac(HashAlgorithmName algorithm, string secret, byte[] content)
    {
        var key = Encoding.UTF8.GetBytes(secret);
        return algorithm == HashAlgorithmName.SHA512 ? HMACSHA512.HashData(key, content) : HMACSHA256.HashData(key, content);
    }

    [Fact]
    public void Sha256_hex_with_prefix_verifies_and_reads_configured_id_and_event_headers()
    {
        var options = new WebhookSourceOptions { Header = "X-Shop-Signature", Prefix = "sha256=", IdHeader = "X-Shop-Id", EventHeader = "X-Shop-Topic" };
        var signature = "sha256=" + Convert.ToHexStringLower(Mac(HashAlgorithmName.SHA256, Secret, Body));
        var headers = Signing.Headers(("x-shop-signature", signature), ("X-Shop-Id", "d-1"), ("X-Shop-Topic", "order.created"));

        var result = Verifier(options).Verify(headers, Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal("d-1", result.DeliveryId);
        Assert.Equal("order.created", result.EventType);
    }

    [Fact]
    public void Sha512_base64_verifies_and_sha256_digest_does_not()
    {
        var options = new WebhookSourceOptions { Header = "X-Sig", Algorithm = "sha512", Encoding = "base64" };
        var good = Convert.ToBase64String(Mac(HashAlgorithmName.SHA512, Secret, Body));
        var wrongAlgorithm = Convert.ToBase64String(Mac(HashAlgorithmName.SHA256, Secret, Body));

        Assert.True(Verifier(options).Verify(Signing.Headers(("X-Sig", good)), Body, Signing.Now).IsVerified);
        Signing.AssertRejected(Verifier(options).Verify(Signing.Headers(("X-Sig", wrongAlgorithm)), Body, Signing.Now), VerificationFailure.BadSignature, Secret, good);
    }

    [Fact]
    public void Timestamped_signature_covers_timestamp_dot_body()
    {
        var options = new WebhookSourceOptions { Header = "X-Sig", TimestampHeader = "X-Timestamp" };
        var content = Encoding.UTF8.GetBytes(Timestamp + ".").Concat(Body).ToArray();
        var signature = Convert.ToHexStringLower(Mac(HashAlgorithmName.SHA256, Secret, content));
        var bodyOnly = Convert.ToHexStringLower(Mac(HashAlgorithmName.SHA256, Secret, Body));

        Assert.True(Verifier(options).Verify(Signing.Headers(("X-Sig", signature), ("X-Timestamp", Timestamp)), Body, Signing.Now).IsVerified);
        Assert.Equal(VerificationFailure.BadSignature, Verifier(options).Verify(Signing.Headers(("X-Sig", bodyOnly), ("X-Timestamp", Timestamp)), Body, Signing.Now).Failure);
        Signing.AssertRejected(Verifier(options).Verify(Signing.Headers(("X-Sig", signature)), Body, Signing.Now), VerificationFailure.MissingHeader, Secret);
    }

    [Theory]
    [InlineData(-601)]
    [InlineData(601)]
    public void Timestamp_beyond_configured_tolerance_either_way_is_rejected(int offsetSeconds)
    {
        var options = new WebhookSourceOptions { Header = "X-Sig", TimestampHeader = "X-Timestamp", Tolerance = TimeSpan.FromMinutes(10) };
        var timestamp = (Signing.Now.ToUnixTimeSeconds() + offsetSeconds).ToString(CultureInfo.InvariantCulture);
        var content = Encoding.UTF8.GetBytes(timestamp + ".").Concat(Body).ToArray();
        var headers = Signing.Headers(("X-Sig", Convert.ToHexStringLower(Mac(HashAlgorithmName.SHA256, Secret, content))), ("X-Timestamp", timestamp));

        Signing.AssertRejected(Verifier(options).Verify(headers, Body, Signing.Now), VerificationFailure.TimestampOutOfTolerance, Secret);
    }

    [Fact]
    public void Missing_signature_header_is_rejected()
    {
        Signing.AssertRejected(Verifier(new() { Header = "X-Sig" }).Verify(Signing.Headers(), Body, Signing.Now), VerificationFailure.MissingSignature, Secret);
    }

    [Theory]
    [InlineData("abc")] // odd hex length
    [InlineData("zz")]
    [InlineData("")]
    [InlineData("sha1=00")] // wrong prefix
    public void Malformed_signature_header_is_rejected(string header)
    {
        var options = new WebhookSourceOptions { Header = "X-Sig", Prefix = header.StartsWith("sha1=", StringComparison.Ordinal) ? "sha256=" : null };

        Signing.AssertRejected(Verifier(options).Verify(Signing.Headers(("X-Sig", header)), Body, Signing.Now), VerificationFailure.MalformedHeader, Secret);
    }

    [Fact]
    public void Rotated_secret_matches()
    {
        var signature = Convert.ToHexStringLower(Mac(HashAlgorithmName.SHA256, "next-secret", Body));

        Assert.True(Verifier(new() { Header = "X-Sig" }, Secret, "next-secret").Verify(Signing.Headers(("X-Sig", signature)), Body, Signing.Now).IsVerified);
    }

    [Fact]
    public void Bearer_mode_compares_the_token()
    {
        var verifier = Verifier(new() { Mode = "bearer" });

        Assert.True(verifier.Verify(Signing.Headers(("Authorization", "Bearer " + Secret)), Body, Signing.Now).IsVerified);
        Signing.AssertRejected(verifier.Verify(Signing.Headers(("Authorization", "Bearer generic-secret-43")), Body, Signing.Now), VerificationFailure.BadSignature, Secret);
        Signing.AssertRejected(verifier.Verify(Signing.Headers(), Body, Signing.Now), VerificationFailure.MissingSignature, Secret);
        // Basic is Alertmanager's alternative; a generic bearer source does not accept it.
        Signing.AssertRejected(
            verifier.Verify(Signing.Headers(("Authorization", "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("u:" + Secret)))), Body, Signing.Now),
            VerificationFailure.MalformedHeader,
            Secret);
    }
}
