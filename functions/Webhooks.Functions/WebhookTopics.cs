namespace Serverless.Webhooks.Functions;

/// <summary>The platform events the webhooks capability publishes.</summary>
public static class WebhookTopics
{
    public const string Received = Service.Inbound.InboundEvents.ReceivedTopic;
    public const string ScmPush = Service.Inbound.InboundEvents.ScmPushTopic;
    public const string AlertsReceived = Service.Inbound.InboundEvents.AlertsReceivedTopic;
    public const string EndpointDisabled = "webhook.endpoint.disabled";
}
