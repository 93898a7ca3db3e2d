namespace Serverless.Webhooks.Inbound;

/// <summary>Why a delivery was rejected. Tokens (GitLab, bearer, basic) count as signatures here.</summary>
public enum VerificationFailure
{
    /// <summary>The signature/token header is absent.</summary>
    MissingSignature,

    /// <summary>A header the signature depends on (id, timestamp) is absent.</summary>
    MissingHeader,

    /// <summary>A header is present but not in the expected format.</summary>
    MalformedHeader,

    /// <summary>Well-formed, but matches none of the configured secrets.</summary>
    BadSignature,

    /// <summary>The signed timestamp is further from now than the tolerance (either direction).</summary>
    TimestampOutOfTolerance,
}
