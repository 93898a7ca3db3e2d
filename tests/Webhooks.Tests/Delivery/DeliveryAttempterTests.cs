using System.Security.Cryptography;
using System.Text;
using Serverless.Webhooks.Inbound;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Testing;
using Serverless.Webhooks.Service.Endpoints;

namespace Webhooks.Tests.Delivery;

/// <summary>One signed attempt against real receivers that succeed, fail, disappear, throttle, hang or redirect.</summary>
public sealed class DeliveryAttempterTests : IAsyncLifetime
{
    private static readonly byte[] Event = """{"specversion":"1.0","id":"evt-1","source":"/pipelines","type":"pipeline.run.finished","data":{"ok":true}}"""u8.ToArray();
    private readonly WebhookSecret _secret = WebhookSecret.Generate();
    private RecordingReceiver _receiver = null!;
    private HttpClient _client = null!;

    public async ValueTask InitializeAsync()
    {
        _receiver = await RecordingReceiver.StartAsync();
        _client = OutboundHttpHandlerFactory.CreateClient(
            new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"])),
            new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(1) });
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _receiver.DisposeAsync();
    }

    private WebhookEndpoint Endpoint(string path) => new(
        "0000000000000000000000000000000a", _receiver.BaseUrl + path, ["pipeline.*"], null, null,
        new Dictionary<string, string> { ["X-Team"] = "retail" }, _secret.Reveal(), null, null, true, null, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow);

    private Task<(DeliveryAttempt Attempt, NextStep Next)> AttemptAsync(string path, int attempt = 1, HttpClient? client = null, string eventId = "evt-1") =>
        new DeliveryAttempter(client ?? _client, new DeliveryRetryPolicy(new RetryScheduleOptions { JitterFraction = 0 }), TimeProvider.System)
            .AttemptAsync(Endpoint(path), "delivery-1", eventId, Event, attempt, CancellationToken.None);

    [Theory]
    [InlineData("evt.with.dots")]
    [InlineData("evt with space")]
    [InlineData("evt\twith\u0001control")]
    [InlineData("évènement")]
    public async Task An_event_id_that_is_no_valid_message_id_is_delivered_under_a_stable_safe_webhook_id(string eventId)
    {
        eventId = System.Text.RegularExpressions.Regex.Unescape(eventId);
        var (first, next) = await AttemptAsync("/ok", eventId: eventId);
        await AttemptAsync("/ok", attempt: 2, eventId: eventId);

        Assert.IsType<NextStep.Delivered>(next);
        Assert.Equal(200, first.StatusCode);
        var requests = _receiver.Requests.ToList();
        Assert.Equal(2, requests.Count);
        var webhookId = requests[0].Headers["webhook-id"].ToString();
        Assert.StartsWith("msg_", webhookId, StringComparison.Ordinal);
        Assert.Equal(webhookId, requests[1].Headers["webhook-id"].ToString());
        Assert.True(WebhookMessageId.IsValid(webhookId));
        var verified = new StandardWebhooksVerifier([_secret.Reveal()])
            .Verify(requests[0].Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), requests[0].Body, DateTimeOffset.UtcNow);
        Assert.True(verified.IsVerified, verified.Message);
    }

    [Fact]
    public async Task An_unexpected_error_is_a_recorded_failed_attempt_that_follows_the_schedule_to_failed()
    {
        using var throwing = new HttpClient(new ThrowingHandler(new InvalidOperationException("the handler broke")));
        var policy = new DeliveryRetryPolicy(new RetryScheduleOptions { JitterFraction = 0 });

        var (attempt, next) = await AttemptAsync("/ok", client: throwing);
        Assert.Null(attempt.StatusCode);
        Assert.Equal("the attempt failed: InvalidOperationException: the handler broke", attempt.Error);
        Assert.IsType<NextStep.RetryAt>(next);

        var last = Assert.IsType<NextStep.Failed>((await AttemptAsync("/ok", attempt: policy.MaxAttempts, client: throwing)).Next);
        Assert.Contains("the handler broke", last.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_send_failure_without_a_status_says_what_failed()
    {
        // Stored before registration refused such values: the client will not send it, and the log must say why.
        var endpoint = Endpoint("/ok") with { Headers = new Dictionary<string, string> { ["X-Name"] = "caf\u00e9" } };
        var (attempt, next) = await new DeliveryAttempter(_client, new DeliveryRetryPolicy(new RetryScheduleOptions { JitterFraction = 0 }), TimeProvider.System)
            .AttemptAsync(endpoint, "delivery-1", "evt-1", Event, 1, CancellationToken.None);

        Assert.Null(attempt.StatusCode);
        Assert.NotEqual("Unknown", attempt.Error);
        Assert.Contains("ASCII", attempt.Error, StringComparison.Ordinal);
        Assert.IsType<NextStep.RetryAt>(next);
        Assert.Empty(_receiver.Requests);
    }

    private sealed class ThrowingHandler(Exception error) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) => throw error;
    }

    [Fact]
    public async Task A_2xx_is_delivered_and_the_request_is_signed_as_standard_webhooks_specify()
    {
        var (attempt, next) = await AttemptAsync("/ok");

        Assert.IsType<NextStep.Delivered>(next);
        Assert.Equal(200, attempt.StatusCode);
        Assert.Equal(DeliveryAttempter.ResponseSnippetBytes, Encoding.UTF8.GetByteCount(attempt.ResponseBody));
        var (_, headers, body) = Assert.Single(_receiver.Requests);
        Assert.Equal(Event, body);
        Assert.Equal("evt-1", headers["webhook-id"].ToString());
        Assert.Equal("retail", headers["X-Team"].ToString());

        // The receiver's side: the same verifier our inbound gateway uses accepts it with the endpoint's secret.
        var verifier = new StandardWebhooksVerifier([_secret.Reveal()]);
        var verified = verifier.Verify(headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body, DateTimeOffset.UtcNow);
        Assert.True(verified.IsVerified, verified.Message);
    }

    [Fact]
    public async Task A_retry_keeps_the_webhook_id_and_signs_anew()
    {
        await AttemptAsync("/fail", attempt: 1);
        await AttemptAsync("/fail", attempt: 2);
        var requests = _receiver.Requests.ToList();
        Assert.Equal(2, requests.Count);
        Assert.Equal(requests[0].Headers["webhook-id"].ToString(), requests[1].Headers["webhook-id"].ToString());
    }

    [Fact]
    public async Task A_500_is_retried_on_the_schedule()
    {
        var before = DateTimeOffset.UtcNow;
        var (attempt, next) = await AttemptAsync("/fail", attempt: 2);
        Assert.Equal(500, attempt.StatusCode);
        var retry = Assert.IsType<NextStep.RetryAt>(next);
        Assert.InRange(retry.At - before, TimeSpan.FromMinutes(5) - TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(5) + TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task A_410_disables_the_endpoint() =>
        Assert.IsType<NextStep.DisableEndpoint>((await AttemptAsync("/gone")).Next);

    [Fact]
    public async Task A_429_honours_retry_after_when_it_is_later_than_the_schedule()
    {
        var before = DateTimeOffset.UtcNow;
        var retry = Assert.IsType<NextStep.RetryAt>((await AttemptAsync("/busy", attempt: 1)).Next);
        Assert.True(retry.At - before >= TimeSpan.FromSeconds(7), $"retried after {retry.At - before}");
    }

    [Fact]
    public async Task A_redirect_is_a_failure_and_is_not_followed()
    {
        var (attempt, next) = await AttemptAsync("/redirect");
        Assert.Equal(302, attempt.StatusCode);
        Assert.IsType<NextStep.RetryAt>(next);
        Assert.DoesNotContain(_receiver.Requests, r => r.Path == "/ok");
    }

    [Fact]
    public async Task A_receiver_that_hangs_past_the_timeout_is_a_timed_out_attempt()
    {
        var (attempt, next) = await AttemptAsync("/hang");
        Assert.Null(attempt.StatusCode);
        Assert.Equal("timed out", attempt.Error);
        Assert.IsType<NextStep.RetryAt>(next);
        Assert.InRange(attempt.DurationMs, 900, 10_000);
    }

    [Fact]
    public async Task The_timeout_bounds_the_whole_attempt_not_the_answer_and_then_the_body_again()
    {
        // 2 s in all: the answer comes after 1.4 s, its body stalls; the body gets what is left of the 2 s (before, it got
        // another 2 s of its own: 3.4 s).
        using var client = OutboundHttpHandlerFactory.CreateClient(
            new OutboundDestinationPolicy(new OutboundAllowList(["127.0.0.0/8"])),
            new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(2) });
        var (attempt, next) = await AttemptAsync("/late-stall", client: client);
        Assert.Equal(200, attempt.StatusCode);
        Assert.Equal("partial", attempt.ResponseBody);
        Assert.IsType<NextStep.Delivered>(next);
        Assert.InRange(attempt.DurationMs, 1_400, 2_900);
    }

    [Fact]
    public async Task The_last_failed_attempt_fails_the_delivery()
    {
        var policy = new DeliveryRetryPolicy(new RetryScheduleOptions { JitterFraction = 0 });
        Assert.IsType<NextStep.Failed>((await AttemptAsync("/fail", attempt: policy.MaxAttempts)).Next);
    }

    [Fact]
    public async Task Without_the_allow_list_a_loopback_endpoint_is_refused_before_any_byte_is_sent()
    {
        using var guarded = OutboundHttpHandlerFactory.CreateClient(OutboundDestinationPolicy.Default, new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(2) });
        var (attempt, next) = await AttemptAsync("/ok", client: guarded);
        Assert.Null(attempt.StatusCode);
        Assert.Contains("127.0.0.1", attempt.Error, StringComparison.Ordinal);
        Assert.IsType<NextStep.RetryAt>(next);
        Assert.Empty(_receiver.Requests);
    }
}
