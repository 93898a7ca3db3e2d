using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class HeaderRedactionTests
{
    [Fact]
    public void Secret_bearing_headers_are_redacted_and_the_rest_kept()
    {
        var headers = Signing.Headers(
            ("authorization", "Bearer t"),
            ("X-Gitlab-Token", "t"),
            ("Webhook-Signature", "v1,abc"),
            ("X-Hub-Signature", "sha1=00"),
            ("X-Hub-Signature-256", "sha256=00"),
            ("X-Shop-Signature", "ff"),
            ("Content-Type", "application/json"),
            ("X-GitHub-Event", "push"));
        var source = new WebhookSource("shop", "generic", ["k"], new() { Header = "x-shop-signature" });

        var kept = HeaderRedaction.Redact(headers, source);

        Assert.Equal(headers.Count, kept.Count);
        foreach (var name in new[] { "authorization", "X-Gitlab-Token", "Webhook-Signature", "X-Hub-Signature", "X-Hub-Signature-256", "X-Shop-Signature" })
        {
            Assert.Equal(HeaderRedaction.Redacted, kept[name]);
        }

        Assert.Equal("application/json", kept["content-type"]);
        Assert.Equal("push", kept["X-GitHub-Event"]);
    }

    [Fact]
    public void Without_a_source_a_custom_signature_header_is_kept()
    {
        var kept = HeaderRedaction.Redact(Signing.Headers(("X-Shop-Signature", "ff")));

        Assert.Equal("ff", kept["X-Shop-Signature"]);
    }
}
