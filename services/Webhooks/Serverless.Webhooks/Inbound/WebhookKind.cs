namespace Serverless.Webhooks.Inbound;

/// <summary>The sender conventions a source can follow; each has its own verifier.</summary>
public enum WebhookKind
{
    GitHub,
    GitLab,
    Standard,
    Alertmanager,
    Generic,
}
