using System.Text;

namespace Serverless.Webhooks.Inbound;

/// <summary>
/// Checks an Authorization header as Alertmanager's http_config sends it: "Bearer {token}" compared with
/// each secret, or "Basic base64(user:password)" whose decoded "user:password" is compared with each secret.
/// </summary>
internal static class AuthorizationCredentials
{
    private const string HeaderName = "Authorization";

    public static VerificationResult? Check(IReadOnlyDictionary<string, string> headers, IReadOnlyList<string> secrets, bool allowBasic)
    {
        var header = HeaderLookup.Find(headers, HeaderName);
        if (header is null)
        {
            return VerificationResult.Rejected(VerificationFailure.MissingSignature, $"{HeaderName} header is missing");
        }

        var separator = header.IndexOf(' ', StringComparison.Ordinal);
        var scheme = separator < 0 ? header : header[..separator];
        var credentials = separator < 0 ? string.Empty : header[(separator + 1)..].Trim();
        var expectedSchemes = allowBasic ? "'Bearer <token>' or 'Basic <base64>'" : "'Bearer <token>'";
        if (credentials.Length == 0)
        {
            return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{HeaderName} must be {expectedSchemes}");
        }

        string presented;
        if (scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            presented = credentials;
        }
        else if (allowBasic && scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
        {
            var buffer = new byte[credentials.Length];
            if (!Convert.TryFromBase64String(credentials, buffer, out var written))
            {
                return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{HeaderName} Basic credentials are not base64");
            }

            presented = Encoding.UTF8.GetString(buffer, 0, written);
            if (!presented.Contains(':', StringComparison.Ordinal))
            {
                return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{HeaderName} Basic credentials must be 'user:password'");
            }
        }
        else
        {
            return VerificationResult.Rejected(VerificationFailure.MalformedHeader, $"{HeaderName} must be {expectedSchemes}");
        }

        return ConstantTime.MatchesAny(presented, secrets)
            ? null
            : VerificationResult.Rejected(VerificationFailure.BadSignature, $"{HeaderName} credentials do not match any configured secret");
    }
}
