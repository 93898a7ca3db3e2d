using System.Text;
using System.Text.Json;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Service.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class InboundEventsTests
{
    private static readonly byte[] Push = Encoding.UTF8.GetBytes("""
        {"ref":"refs/heads/main","before":"a1","after":"b2","repository":{"full_name":"retail/checkout"},"pusher":{"name":"octocat"},"commits":[]}
        """);

    [Fact]
    public void A_known_event_is_published_normalised_only_with_an_id_from_its_receipt()
    {
        var (topic, cloudEvent) = Assert.Single(InboundEvents.For("github-main", WebhookKind.GitHub, "push", "d-1", "r-1", "application/json", Push));

        Assert.Equal("scm.push", topic);
        Assert.Equal("scm.push", cloudEvent.Type);
        Assert.StartsWith("r-1", cloudEvent.Id, StringComparison.Ordinal);
        Assert.Equal("/webhooks/github-main", cloudEvent.Source);
        Assert.Equal("refs/heads/main", JsonDocument.Parse(cloudEvent.Data!.ToMemory()).RootElement.GetProperty("ref").GetString());
    }

    [Fact]
    public void Any_other_event_is_published_raw_as_webhook_received()
    {
        var (topic, cloudEvent) = Assert.Single(InboundEvents.For("github-main", WebhookKind.GitHub, "issues", "d-2", "r-2", "application/json", """{"action":"opened"}"""u8));

        Assert.Equal("webhook.received", topic);
        Assert.Equal("r-2", cloudEvent.Id);
        var data = JsonDocument.Parse(cloudEvent.Data!.ToMemory()).RootElement;
        Assert.Equal("issues", data.GetProperty("eventType").GetString());
        Assert.Equal("opened", data.GetProperty("json").GetProperty("action").GetString());
    }

    [Fact]
    public void A_body_that_is_not_json_travels_as_base64()
    {
        var (_, cloudEvent) = Assert.Single(InboundEvents.For("forms", WebhookKind.Generic, "order", "d-3", "r-3", "application/x-www-form-urlencoded", "a=1&b=2"u8));

        var data = JsonDocument.Parse(cloudEvent.Data!.ToMemory()).RootElement;
        Assert.Equal("a=1&b=2", Encoding.UTF8.GetString(Convert.FromBase64String(data.GetProperty("bodyBase64").GetString()!)));
    }

    [Fact]
    public void A_github_push_sent_as_a_form_is_normalised_from_its_payload_field()
    {
        // GitHub's form content type: payload=<the JSON, form-encoded> (spaces as '+', a literal '+' as %2B).
        var json = """{"ref":"refs/heads/main","before":"a1","after":"b2","repository":{"full_name":"retail/check out"},"pusher":{"name":"c++ dev"},"commits":[]}""";
        var form = Encoding.UTF8.GetBytes("payload=" + Uri.EscapeDataString(json).Replace("%20", "+", StringComparison.Ordinal));

        var (topic, cloudEvent) = Assert.Single(InboundEvents.For("github-main", WebhookKind.GitHub, "push", "d-4", "r-4", "application/x-www-form-urlencoded", form));

        Assert.Equal("scm.push", topic);
        var data = JsonDocument.Parse(cloudEvent.Data!.ToMemory()).RootElement;
        Assert.Equal("retail/check out", data.GetProperty("repository").GetString());
        Assert.Equal("c++ dev", data.GetProperty("pusher").GetString());
    }

    [Fact]
    public void Another_event_sent_as_a_form_is_published_with_its_payload_as_json()
    {
        var form = Encoding.UTF8.GetBytes("payload=" + Uri.EscapeDataString("""{"zen":"Keep it simple."}"""));

        var (_, cloudEvent) = Assert.Single(InboundEvents.For("github-main", WebhookKind.GitHub, "ping", "d-5", "r-5", "application/x-www-form-urlencoded; charset=utf-8", form));

        Assert.Equal("Keep it simple.", JsonDocument.Parse(cloudEvent.Data!.ToMemory()).RootElement.GetProperty("json").GetProperty("zen").GetString());
    }
}
