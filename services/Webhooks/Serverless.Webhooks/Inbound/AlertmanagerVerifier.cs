namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Alertmanager signs nothing; its webhook_config http_config sends bearer or basic credentials. It sends
/// no delivery id either, so the id is derived from the body (see <see cref="BodyDigest"/>).
/// </summary>
public sealed class AlertmanagerVerifier : IWebhookVerifier
{
    public const string EventType = "alertmanager.alerts";
    private readonly IReadOnlyList<string> _secrets;

    /// <param name="secrets">Bearer tokens, or "user:password" for basic authentication.</param>
    public AlertmanagerVerifier(IReadOnlyList<string> secrets) => _secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        return AuthorizationCredentials.Check(headers, _secrets, allowBasic: true)
            ?? VerificationResult.Verified(BodyDigest.DeliveryId(body), EventType);
    }
}
