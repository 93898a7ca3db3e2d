namespace Serverless.Webhooks.Inbound;

/// <summary>A sender-independent event built from a verified payload.</summary>
public abstract record NormalisedEvent;
