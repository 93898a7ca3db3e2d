namespace Serverless.Webhooks.Inbound;

/// <summary>generic sources in "bearer" mode: "Authorization: Bearer {token}" equals one of the secrets.</summary>
public sealed class BearerTokenVerifier : IWebhookVerifier
{
    private readonly IReadOnlyList<string> _secrets;
    private readonly string? _idHeader;
    private readonly string? _eventHeader;

    public BearerTokenVerifier(IReadOnlyList<string> secrets, string? idHeader = null, string? eventHeader = null)
    {
        _secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));
        _idHeader = idHeader;
        _eventHeader = eventHeader;
    }

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return AuthorizationCredentials.Check(headers, _secrets, allowBasic: false)
            ?? VerificationResult.Verified(
                (_idHeader is null ? null : HeaderLookup.Find(headers, _idHeader)) ?? BodyDigest.DeliveryId(body),
                _eventHeader is null ? null : HeaderLookup.Find(headers, _eventHeader));
    }
}
