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
}
