using System.Security.Cryptography;
using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

/// <summary>Test-side signing, written straight from each sender's documentation (independent of the verifiers).</summary>
internal static class Signing
{
    public static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    public static string GitHub(string secret, byte[] body) =>
        "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), body));

    public static string Standard(string whsecSecret, string id, string timestamp, byte[] body)
    {
        var key = Convert.FromBase64String(whsecSecret["whsec_".Length..]);
        var content = Encoding.UTF8.GetBytes($"{id}.{timestamp}.").Concat(body).ToArray();
        return "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, content));
    }

    public static Dictionary<string, string> Headers(params (string Name, string Value)[] headers) =>
        headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.Ordinal);

    /// <summary>Failure messages go to logs and back to senders: they must not help forge a signature.</summary>
    public static void AssertRejected(VerificationResult result, VerificationFailure expected, params string[] mustNotAppear)
    {
        Assert.False(result.IsVerified);
        Assert.Equal(expected, result.Failure);
        Assert.False(string.IsNullOrWhiteSpace(result.Message));
        Assert.Null(result.DeliveryId);
        foreach (var value in mustNotAppear)
        {
            Assert.DoesNotContain(value, result.Message!, StringComparison.OrdinalIgnoreCase);
        }
    }
}
