using System.Globalization;
using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

/// <summary>
/// Seeded random cases (reproducible; FsCheck.Xunit is not available): a genuine delivery verifies, and
/// changing any single byte of the body, the id or the timestamp makes it fail.
/// </summary>
public sealed class TamperingPropertyTests
{
    private const int Cases = 500;
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string IdAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-";

    [Fact]
    public void Any_single_changed_byte_of_body_id_or_timestamp_fails_standard_verification()
    {
        var random = new Random(20240917);
        var verifier = new StandardWebhooksVerifier([Secret]);
        for (var i = 0; i < Cases; i++)
        {
            var body = new byte[random.Next(1, 256)];
            random.NextBytes(body);
            var id = "msg_" + new string([.. Enumerable.Range(0, random.Next(1, 30)).Select(_ => IdAlphabet[random.Next(IdAlphabet.Length)])]);
            // Timestamps within tolerance, so a changed digit is caught by the signature, not only by the clock.
            var timestamp = (Signing.Now.ToUnixTimeSeconds() + random.Next(-300, 301)).ToString(CultureInfo.InvariantCulture);
            var signature = Signing.Standard(Secret, id, timestamp, body);

            Assert.True(verifier.Verify(Headers(id, timestamp, signature), body, Signing.Now).IsVerified, $"case {i}: genuine delivery rejected");

            switch (random.Next(3))
            {
                case 0:
                    var tampered = (byte[])body.Clone();
                    tampered[random.Next(tampered.Length)] ^= (byte)random.Next(1, 256);
                    Assert.False(verifier.Verify(Headers(id, timestamp, signature), tampered, Signing.Now).IsVerified, $"case {i}: changed body accepted");
                    break;
                case 1:
                    var changedId = ChangeOneByte(id, random);
                    Assert.False(verifier.Verify(Headers(changedId, timestamp, signature), body, Signing.Now).IsVerified, $"case {i}: changed id accepted");
                    break;
                default:
                    var changedTimestamp = ChangeOneByte(timestamp, random);
                    Assert.False(verifier.Verify(Headers(id, changedTimestamp, signature), body, Signing.Now).IsVerified, $"case {i}: changed timestamp accepted");
                    break;
            }
        }
    }

    [Fact]
    public void Any_single_changed_byte_of_the_body_fails_github_verification()
    {
        var random = new Random(7);
        var verifier = new GitHubVerifier(["gh-secret"]);
        for (var i = 0; i < Cases; i++)
        {
            var body = new byte[random.Next(1, 256)];
            random.NextBytes(body);
            var headers = Signing.Headers(("X-Hub-Signature-256", Signing.GitHub("gh-secret", body)));
            Assert.True(verifier.Verify(headers, body, Signing.Now).IsVerified, $"case {i}: genuine delivery rejected");

            body[random.Next(body.Length)] ^= (byte)random.Next(1, 256);
            Assert.False(verifier.Verify(headers, body, Signing.Now).IsVerified, $"case {i}: changed body accepted");
        }
    }

    private static Dictionary<string, string> Headers(string id, string timestamp, string signature) =>
        Signing.Headers(("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", signature));

    /// <summary>Replaces one ASCII character with a different printable ASCII character (one byte in UTF-8).</summary>
    private static string ChangeOneByte(string value, Random random)
    {
        var chars = value.ToCharArray();
        var position = random.Next(chars.Length);
        char replacement;
        do
        {
            replacement = (char)random.Next(0x21, 0x7F);
        }
        while (replacement == chars[position]);

        chars[position] = replacement;
        return new string(chars);
    }
}
