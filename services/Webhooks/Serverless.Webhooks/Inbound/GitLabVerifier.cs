namespace Serverless.Webhooks.Inbound;

/// <summary>GitLab sends the shared secret itself in X-Gitlab-Token (no signature over the body).</summary>
public sealed class GitLabVerifier : IWebhookVerifier
{
    private const string TokenHeader = "X-Gitlab-Token";
    private readonly IReadOnlyList<string> _secrets;

    public GitLabVerifier(IReadOnlyList<string> secrets) => _secrets = secrets ?? throw new ArgumentNullException(nameof(secrets));

    public VerificationResult Verify(IReadOnlyDictionary<string, string> headers, ReadOnlySpan<byte> body, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(headers);
        var token = HeaderLookup.Find(headers, TokenHeader);
        if (token is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingSignature, $"{TokenHeader} header is missing");
        }

        if (token.Length == 0)
        {
            return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{TokenHeader} header is empty");
        }

        if (!ConstantTime.MatchesAny(token, _secrets))
        {
            return VerificationResult.Rejected(VerificationFailure.BadSignature, $"{TokenHeader} does not match any configured secret");
        }

        // GitLab 15.x+ sends X-Gitlab-Event-UUID; Idempotency-Key is stable across its retries of one delivery.
        var id = HeaderLookup.Find(headers, "X-Gitlab-Event-UUID")
            ?? HeaderLookup.Find(headers, "Idempotency-Key")
            ?? BodyDigest.DeliveryId(body);
        return VerificationResult.Verified(id, HeaderLookup.Find(headers, "X-Gitlab-Event"));
    }
}
