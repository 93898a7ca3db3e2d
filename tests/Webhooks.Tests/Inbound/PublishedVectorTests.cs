using System.Security.Cryptography;
using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

/// <summary>The examples the senders publish, recomputed here and accepted by the verifiers.</summary>
public sealed class PublishedVectorTests
{
    private const string StandardSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string StandardId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string StandardTimestamp = "1614265330";
    private const string StandardBody = """{"test": 2432232314}""";
    private const string StandardSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    private const string GitHubSecret = "It's a Secret to Everybody";
    private const string GitHubBody = "Hello, World!";
    private const string GitHubSignature = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

    [Fact]
    public void Standard_webhooks_example_signature_is_what_the_documented_algorithm_computes()
    {
        var key = Convert.FromBase64String("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        var digest = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{StandardId}.{StandardTimestamp}.{StandardBody}"));

        Assert.Equal(StandardSignature, "v1," + Convert.ToBase64String(digest));
    }

    [Fact]
    public void Standard_webhooks_example_verifies_at_its_own_timestamp()
    {
        var verifier = new StandardWebhooksVerifier([StandardSecret]);
        var headers = Signing.Headers(
            ("webhook-id", StandardId), ("webhook-timestamp", StandardTimestamp), ("webhook-signature", StandardSignature));

        var result = verifier.Verify(headers, Encoding.UTF8.GetBytes(StandardBody), DateTimeOffset.FromUnixTimeSeconds(1614265330));

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal(StandardId, result.DeliveryId);
    }

    [Fact]
    public void GitHub_example_signature_is_what_the_documented_algorithm_computes()
    {
        var digest = HMACSHA256.HashData(Encoding.UTF8.GetBytes(GitHubSecret), Encoding.UTF8.GetBytes(GitHubBody));

        Assert.Equal(GitHubSignature, "sha256=" + Convert.ToHexStringLower(digest));
    }

    [Fact]
    public void GitHub_example_verifies()
    {
        var verifier = new GitHubVerifier([GitHubSecret]);
        var headers = Signing.Headers(
            ("X-Hub-Signature-256", GitHubSignature), ("X-GitHub-Event", "push"), ("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"));

        var result = verifier.Verify(headers, Encoding.UTF8.GetBytes(GitHubBody), Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal("72d3162e-cc78-11e3-81ab-4c9367dc0958", result.DeliveryId);
        Assert.Equal("push", result.EventType);
    }
}
