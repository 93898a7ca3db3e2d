using System.Security.Cryptography;
using System.Text;

namespace Integration.Tests;

/// <summary>Deliveries as GitHub sends them to <c>/api/webhooks/in/{source}</c>.</summary>
internal static class GitHubDeliveries
{
    /// <summary>A push signed with the source's secret (X-Hub-Signature-256), or carrying <paramref name="signature"/> instead.</summary>
    public static HttpRequestMessage Push(string source, string secret, string body, string deliveryId, string? signature = null, string mediaType = "application/json")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/api/webhooks/in/{source}") { Content = new StringContent(body, Encoding.UTF8, mediaType) };
        var hmac = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body)));
        request.Headers.Add("X-Hub-Signature-256", signature ?? $"sha256={hmac}");
        request.Headers.Add("X-GitHub-Event", "push");
        request.Headers.Add("X-GitHub-Delivery", deliveryId);
        return request;
    }
}
