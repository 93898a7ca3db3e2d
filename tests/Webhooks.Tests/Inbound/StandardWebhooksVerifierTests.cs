using System.Globalization;
using System.Text;
using Serverless.Webhooks.Inbound;

namespace Webhooks.Tests.Inbound;

public sealed class StandardWebhooksVerifierTests
{
    private const string Secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    private const string OtherSecret = "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=";
    private const string Id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"type":"invoice.paid","timestamp":"2023-11-14T22:13:20Z","data":{"id":"inv_1"}}""");
    private static readonly string Timestamp = Signing.Now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);

    private static Dictionary<string, string> Headers(string signature, string? timestamp = null, string id = Id) =>
        Signing.Headers(("webhook-id", id), ("webhook-timestamp", timestamp ?? Timestamp), ("webhook-signature", signature));

    [Fact]
    public void Valid_delivery_gives_its_id_and_the_payload_type()
    {
        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(Signing.Standard(Secret, Id, Timestamp, Body)), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
        Assert.Equal(Id, result.DeliveryId);
        Assert.Equal("invoice.paid", result.EventType);
    }

    [Fact]
    public void Missing_signature_header_is_rejected()
    {
        var headers = Signing.Headers(("webhook-id", Id), ("webhook-timestamp", Timestamp));

        Signing.AssertRejected(new StandardWebhooksVerifier([Secret]).Verify(headers, Body, Signing.Now), VerificationFailure.MissingSignature, Secret);
    }

    [Theory]
    [InlineData("webhook-id")]
    [InlineData("webhook-timestamp")]
    public void Missing_id_or_timestamp_is_rejected(string omitted)
    {
        var headers = Headers(Signing.Standard(Secret, Id, Timestamp, Body));
        headers.Remove(omitted);

        Signing.AssertRejected(new StandardWebhooksVerifier([Secret]).Verify(headers, Body, Signing.Now), VerificationFailure.MissingHeader, Secret);
    }

    [Theory]
    [InlineData("g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")] // no version
    [InlineData("v1,")]
    [InlineData("v1,not base64!")]
    [InlineData("v1a,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")] // asymmetric: not supported
    [InlineData("   ")]
    public void Signature_header_without_a_usable_v1_entry_is_malformed(string header)
    {
        Signing.AssertRejected(new StandardWebhooksVerifier([Secret]).Verify(Headers(header), Body, Signing.Now), VerificationFailure.MalformedHeader, Secret);
    }

    [Theory]
    [InlineData("-1700000000")]
    [InlineData("1700000000.5")]
    [InlineData(" 1700000000")]
    [InlineData("1e9")]
    [InlineData("")]
    public void Timestamp_that_is_not_plain_unix_seconds_is_malformed(string timestamp)
    {
        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(Signing.Standard(Secret, Id, timestamp, Body), timestamp), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.MalformedHeader, Secret);
    }

    [Fact]
    public void Wrong_secret_is_rejected_without_revealing_the_expected_signature()
    {
        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(Signing.Standard(OtherSecret, Id, Timestamp, Body)), Body, Signing.Now);

        var expected = Signing.Standard(Secret, Id, Timestamp, Body);
        Signing.AssertRejected(result, VerificationFailure.BadSignature, Secret, "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", expected, expected[3..]);
    }

    [Theory]
    [InlineData(-301)]
    [InlineData(301)]
    [InlineData(-86_400)]
    [InlineData(86_400)]
    public void Timestamp_beyond_five_minutes_either_way_is_rejected_even_when_correctly_signed(int offsetSeconds)
    {
        var timestamp = (Signing.Now.ToUnixTimeSeconds() + offsetSeconds).ToString(CultureInfo.InvariantCulture);

        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(Signing.Standard(Secret, Id, timestamp, Body), timestamp), Body, Signing.Now);

        Signing.AssertRejected(result, VerificationFailure.TimestampOutOfTolerance, Secret);
    }

    [Theory]
    [InlineData(-300)]
    [InlineData(300)]
    [InlineData(0)]
    public void Timestamp_within_five_minutes_either_way_is_accepted(int offsetSeconds)
    {
        var timestamp = (Signing.Now.ToUnixTimeSeconds() + offsetSeconds).ToString(CultureInfo.InvariantCulture);

        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(Signing.Standard(Secret, Id, timestamp, Body), timestamp), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }

    [Fact]
    public void Tolerance_is_configurable()
    {
        var timestamp = (Signing.Now.ToUnixTimeSeconds() - 90).ToString(CultureInfo.InvariantCulture);
        var headers = Headers(Signing.Standard(Secret, Id, timestamp, Body), timestamp);

        var strict = new StandardWebhooksVerifier([Secret], TimeSpan.FromMinutes(1)).Verify(headers, Body, Signing.Now);
        var lenient = new StandardWebhooksVerifier([Secret], TimeSpan.FromMinutes(2)).Verify(headers, Body, Signing.Now);

        Assert.Equal(VerificationFailure.TimestampOutOfTolerance, strict.Failure);
        Assert.True(lenient.IsVerified, lenient.Message);
    }

    [Fact]
    public void Second_configured_secret_matching_is_enough_for_rotation()
    {
        var result = new StandardWebhooksVerifier([Secret, OtherSecret]).Verify(Headers(Signing.Standard(OtherSecret, Id, Timestamp, Body)), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }

    [Fact]
    public void One_valid_entry_among_several_signatures_is_enough()
    {
        var header = string.Join(' ',
            "v1a,aGVsbG8gd29ybGQ=",
            Signing.Standard(OtherSecret, Id, Timestamp, Body),
            "v1,bm90IHRoZSBzaWduYXR1cmU=",
            Signing.Standard(Secret, Id, Timestamp, Body));

        var result = new StandardWebhooksVerifier([Secret]).Verify(Headers(header), Body, Signing.Now);

        Assert.True(result.IsVerified, result.Message);
    }

    [Fact]
    public void Several_signatures_none_valid_is_a_bad_signature()
    {
        var header = $"{Signing.Standard(OtherSecret, Id, Timestamp, Body)} v1,bm90IHRoZSBzaWduYXR1cmU=";

        Signing.AssertRejected(new StandardWebhooksVerifier([Secret]).Verify(Headers(header), Body, Signing.Now), VerificationFailure.BadSignature, Secret);
    }

    [Fact]
    public void Secret_without_whsec_prefix_is_refused_at_construction_without_echoing_it()
    {
        var error = Assert.Throws<ArgumentException>(() => new StandardWebhooksVerifier(["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]));

        Assert.DoesNotContain("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", error.Message, StringComparison.Ordinal);
    }
}
