namespace Serverless.Webhooks.Inbound;

/// <summary>How a generic source writes its digest into the header.</summary>
public enum SignatureEncoding
{
    Hex,
    Base64,
}
