namespace Serverless.Webhooks.Functions;

/// <summary>The platform events the webhooks capability publishes.</summary>
public static class WebhookTopics
{
    public const string Received = "webhook.received";
    public const string ScmPush = "scm.push";
    public const string AlertsReceived = "alerts.received";
    public const string EndpointDisabled = "webhook.endpoint.disabled";
}
