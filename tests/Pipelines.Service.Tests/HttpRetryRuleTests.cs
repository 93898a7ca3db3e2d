using System.Net.Http.Headers;
using Serverless.Pipelines.Service.Runners;

namespace Pipelines.Service.Tests;

/// <summary>
/// Found by review: every method was retried on 5xx and network errors, so a POST whose server failed after acting
/// (a 500, a connection dropped mid-request) could start a deployment twice.
/// </summary>
public sealed class HttpRetryRuleTests
{
    public static TheoryData<string> IdempotentMethods => new() { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE", "get" };

    public static TheoryData<string> UnsafeMethods => new() { "POST", "PATCH", "PURGE", "post" };

    private static HttpRequestException Failure(HttpRequestError error) => new(error, "failed");

    [Theory]
    [MemberData(nameof(IdempotentMethods))]
    public void Idempotent_methods_are_retried_on_network_errors_408_429_and_5xx(string method)
    {
        var m = new HttpMethod(method);
        Assert.True(HttpRetryRule.IsIdempotent(m));
        foreach (var status in new[] { 408, 429, 500, 502, 503, 504, 599 })
        {
            Assert.True(HttpRetryRule.ShouldRetry(m, status, null), $"{method} {status}");
        }

        foreach (var status in new[] { 200, 204, 301, 400, 401, 404, 409, 410, 422 })
        {
            Assert.False(HttpRetryRule.ShouldRetry(m, status, null), $"{method} {status}");
        }

        foreach (var error in Enum.GetValues<HttpRequestError>())
        {
            Assert.True(HttpRetryRule.ShouldRetry(m, null, Failure(error)), $"{method} {error}");
        }
    }

    [Theory]
    [MemberData(nameof(UnsafeMethods))]
    public void Other_methods_are_retried_only_when_the_request_was_certainly_not_processed(string method)
    {
        var m = new HttpMethod(method);
        Assert.False(HttpRetryRule.IsIdempotent(m));

        // The server declined it.
        Assert.True(HttpRetryRule.ShouldRetry(m, 429, null));
        Assert.True(HttpRetryRule.ShouldRetry(m, 503, null));
        foreach (var status in new[] { 200, 400, 404, 408, 409, 500, 501, 502, 504 })
        {
            Assert.False(HttpRetryRule.ShouldRetry(m, status, null), $"{method} {status}");
        }

        // No connection was made: the DNS lookup, the connect or the TLS handshake failed before anything was sent.
        var notSent = new[] { HttpRequestError.NameResolutionError, HttpRequestError.ConnectionError, HttpRequestError.SecureConnectionError };
        foreach (var error in Enum.GetValues<HttpRequestError>())
        {
            Assert.Equal(notSent.Contains(error), HttpRetryRule.ShouldRetry(m, null, Failure(error)));
        }
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    public void A_forbidden_destination_a_timeout_or_a_cancel_is_never_retried(string method)
    {
        var m = new HttpMethod(method);
        Assert.False(HttpRetryRule.ShouldRetry(m, null, new HttpRequestException(HttpRequestError.ConnectionError, "refused", new ForbiddenDestinationException("no"))));
        Assert.False(HttpRetryRule.ShouldRetry(m, null, new TaskCanceledException("timed out", new TimeoutException())));
        Assert.False(HttpRetryRule.ShouldRetry(m, null, new OperationCanceledException()));
        Assert.False(HttpRetryRule.ShouldRetry(m, null, new InvalidOperationException()));
        Assert.False(HttpRetryRule.ShouldRetry(m, null, null));
    }

    [Fact]
    public void Retry_after_sets_the_wait_on_429_and_503_when_it_is_at_most_the_longest_delay()
    {
        var max = TimeSpan.FromSeconds(5);
        Assert.Equal(TimeSpan.FromSeconds(2), HttpRetryRule.Delay(429, TimeSpan.FromSeconds(2), max));
        Assert.Equal(TimeSpan.FromSeconds(5), HttpRetryRule.Delay(503, TimeSpan.FromSeconds(5), max));
        Assert.Equal(TimeSpan.Zero, HttpRetryRule.Delay(503, TimeSpan.Zero, max));
        Assert.Null(HttpRetryRule.Delay(503, TimeSpan.FromSeconds(6), max)); // too long: the backoff applies
        Assert.Null(HttpRetryRule.Delay(429, null, max));
        Assert.Null(HttpRetryRule.Delay(500, TimeSpan.FromSeconds(1), max));
        Assert.Null(HttpRetryRule.Delay(null, TimeSpan.FromSeconds(1), max));
    }

    [Fact]
    public void Retry_after_is_read_as_seconds_or_as_a_date()
    {
        var now = new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(TimeSpan.FromSeconds(7), HttpRetryRule.RetryAfter(RetryConditionHeaderValue.Parse("7"), now));
        Assert.Equal(TimeSpan.FromSeconds(3), HttpRetryRule.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(3)), now));
        Assert.Equal(TimeSpan.Zero, HttpRetryRule.RetryAfter(new RetryConditionHeaderValue(now.AddSeconds(-30)), now));
        Assert.Null(HttpRetryRule.RetryAfter(null, now));
    }
}
