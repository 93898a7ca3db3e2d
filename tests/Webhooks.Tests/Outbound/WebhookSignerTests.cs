using System.Security.Cryptography;
using System.Text;
using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class WebhookSignerTests
{
    private const string SpecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string SpecId = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    private const string SpecBody = """{"test": 2432232314}""";
    private static readonly DateTimeOffset SpecTime = DateTimeOffset.FromUnixTimeSeconds(1614265330);

    [Fact]
    public void Signs_the_Standard_Webhooks_example_exactly()
    {
        var headers = WebhookSigner.Sign(SpecId, SpecTime, SpecBody, [WebhookSecret.Parse(SpecSecret)]);

        Assert.Equal(SpecId, headers.Id);
        Assert.Equal("1614265330", headers.Timestamp);
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", headers.Signature);
    }

    [Fact]
    public void Id_stays_and_timestamp_follows_the_attempt_on_retry()
    {
        var secret = WebhookSecret.Parse(SpecSecret);
        var first = WebhookSigner.Sign(SpecId, SpecTime, SpecBody, [secret]);
        var retry = WebhookSigner.Sign(SpecId, SpecTime.AddSeconds(5), SpecBody, [secret]);

        Assert.Equal(first.Id, retry.Id);
        Assert.Equal("1614265335", retry.Timestamp);
        Assert.NotEqual(first.Signature, retry.Signature);
    }

    [Fact]
    public void During_rotation_grace_signs_with_new_then_old_secret_and_afterwards_only_new()
    {
        var old = WebhookSecret.Parse(SpecSecret);
        var next = WebhookSecret.Generate();
        var secrets = new EndpointSecrets(old).Rotate(next, SpecTime, TimeSpan.FromHours(24));

        var during = WebhookSigner.Sign(SpecId, SpecTime, SpecBody, secrets.ActiveAt(SpecTime.AddHours(23)));
        var after = WebhookSigner.Sign(SpecId, SpecTime, SpecBody, secrets.ActiveAt(SpecTime.AddHours(24)));

        var parts = during.Signature.Split(' ');
        Assert.Equal(2, parts.Length);
        Assert.Equal(Expected(next), parts[0]);
        Assert.Equal("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", parts[1]);
        Assert.Equal(Expected(next), after.Signature);

        static string Expected(WebhookSecret secret) =>
            "v1," + Convert.ToBase64String(HMACSHA256.HashData(secret.KeyBytes(), Encoding.UTF8.GetBytes($"{SpecId}.1614265330.{SpecBody}")));
    }

    [Fact]
    public void Byte_body_signs_the_same_as_its_utf8_text()
    {
        var secret = WebhookSecret.Parse(SpecSecret);
        var fromBytes = WebhookSigner.Sign(SpecId, SpecTime, Encoding.UTF8.GetBytes(SpecBody), [secret]);
        Assert.Equal(WebhookSigner.Sign(SpecId, SpecTime, SpecBody, [secret]), fromBytes);
    }

    [Theory]
    [InlineData("msg.1")]
    [InlineData("msg 1")]
    [InlineData("msg\r\n1")]
    public void Refuses_ids_that_would_make_the_signed_content_or_header_ambiguous(string id) =>
        Assert.Throws<ArgumentException>(() => WebhookSigner.Sign(id, SpecTime, SpecBody, [WebhookSecret.Parse(SpecSecret)]));

    [Fact]
    public void Refuses_to_sign_without_a_secret() =>
        Assert.Throws<ArgumentException>(() => WebhookSigner.Sign(SpecId, SpecTime, SpecBody, []));

    [Theory]
    [InlineData(24)]
    [InlineData(32)]
    public void Generated_secrets_round_trip_and_differ(int bytes)
    {
        var a = WebhookSecret.Generate(bytes);
        var b = WebhookSecret.Generate(bytes);

        Assert.StartsWith("whsec_", a.Reveal(), StringComparison.Ordinal);
        Assert.Equal(bytes, a.KeyBytes().Length);
        Assert.Equal(a.KeyBytes(), WebhookSecret.Parse(a.Reveal()).KeyBytes());
        Assert.NotEqual(a.KeyBytes(), b.KeyBytes());
    }

    [Theory]
    [InlineData(23)]
    [InlineData(33)]
    public void Generate_refuses_sizes_outside_24_to_32(int bytes) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => WebhookSecret.Generate(bytes));

    [Fact]
    public void A_secret_never_shows_its_key_in_text_or_parse_errors()
    {
        var secret = WebhookSecret.Parse(SpecSecret);
        Assert.DoesNotContain("MfKQ9r8", secret.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("MfKQ9r8", $"{secret}", StringComparison.Ordinal);

        var error = Assert.Throws<FormatException>(() => WebhookSecret.Parse("whsec_MfKQ9r8GKYqr!!"));
        Assert.DoesNotContain("MfKQ9r8", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    [InlineData("whsec_not*base64")]
    [InlineData("whsec_c2hvcnQ=")]
    public void Parse_refuses_malformed_or_short_secrets(string text) =>
        Assert.False(WebhookSecret.TryParse(text, out _, out _));

    [Theory]
    [InlineData("msg_p5jXN8AQM9LWM0D4loKWxJek")]
    [InlineData("0f6c1a2e-33b1-4b7e-9d7c-1c2f8a9b0e11")]
    [InlineData("rcpt_01J:push/1")]
    public void A_valid_event_id_is_the_message_id_as_it_is(string eventId) => Assert.Equal(eventId, WebhookMessageId.For(eventId));

    [Theory]
    [InlineData("evt.with.dots")]
    [InlineData("evt with space")]
    [InlineData("tab\there")]
    [InlineData("ctl\u0001")]
    [InlineData("caf\u00e9")]
    public void Any_other_event_id_maps_to_a_stable_id_the_signer_accepts(string escaped)
    {
        var eventId = System.Text.RegularExpressions.Regex.Unescape(escaped);
        var mapped = WebhookMessageId.For(eventId);

        Assert.Equal(mapped, WebhookMessageId.For(eventId));
        Assert.Equal("msg_" + System.Buffers.Text.Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(eventId))), mapped);
        Assert.NotEqual(mapped, WebhookMessageId.For(eventId + "x"));
        Assert.Equal(mapped, WebhookSigner.Sign(mapped, SpecTime, SpecBody, [WebhookSecret.Parse(SpecSecret)]).Id);
    }

    [Fact]
    public void A_very_long_event_id_maps_to_a_short_one() =>
        Assert.Equal(47, WebhookMessageId.For(new string('a', WebhookMessageId.MaxLength + 1)).Length);
}
