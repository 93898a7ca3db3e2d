using Serverless.Webhooks.Outbound;

namespace Webhooks.Tests.Outbound;

public sealed class DeliveryRetryPolicyTests
{
    private static readonly DateTimeOffset Now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly RetryScheduleOptions Seconds = new()
    {
        Delays = [TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4)],
        JitterFraction = 0,
    };

    private static DeliveryAttemptOutcome.Response Status(int code, string? retryAfter = null) => new DeliveryAttemptOutcome.Response(code, retryAfter);

    [Theory]
    [InlineData(200)]
    [InlineData(204)]
    [InlineData(299)]
    public void Any_2xx_is_delivered(int code) =>
        Assert.IsType<NextStep.Delivered>(new DeliveryRetryPolicy(Seconds).Decide(1, Status(code), Now));

    [Fact]
    public void Gone_disables_the_endpoint_even_on_the_last_attempt()
    {
        var policy = new DeliveryRetryPolicy(Seconds);
        Assert.IsType<NextStep.DisableEndpoint>(policy.Decide(1, Status(410), Now));
        Assert.IsType<NextStep.DisableEndpoint>(policy.Decide(policy.MaxAttempts, Status(410), Now));
    }

    [Theory]
    [InlineData(301)]
    [InlineData(302)]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(500)]
    public void Redirects_and_errors_are_retried_by_the_schedule(int code)
    {
        var step = Assert.IsType<NextStep.RetryAt>(new DeliveryRetryPolicy(Seconds).Decide(2, Status(code), Now));
        Assert.Equal(Now.AddSeconds(2), step.At);
        Assert.Equal(3, step.Attempt);
    }

    [Fact]
    public void Timeouts_and_connection_failures_are_retried()
    {
        var policy = new DeliveryRetryPolicy(Seconds);
        Assert.Equal(Now.AddSeconds(1), Assert.IsType<NextStep.RetryAt>(policy.Decide(1, new DeliveryAttemptOutcome.TimedOut(), Now)).At);
        Assert.Equal(Now.AddSeconds(1), Assert.IsType<NextStep.RetryAt>(policy.Decide(1, new DeliveryAttemptOutcome.ConnectionFailed("refused"), Now)).At);
    }

    [Fact]
    public void Walking_the_whole_schedule_ends_failed_after_the_last_attempt()
    {
        var policy = new DeliveryRetryPolicy(Seconds);
        var at = policy.FirstAttemptAt(Now);
        var attempt = 1;
        var times = new List<DateTimeOffset> { at };
        NextStep step;
        while ((step = policy.Decide(attempt, Status(500), at)) is NextStep.RetryAt retry)
        {
            at = retry.At;
            attempt = retry.Attempt;
            times.Add(at);
        }

        Assert.Equal([Now, Now.AddSeconds(1), Now.AddSeconds(3), Now.AddSeconds(7)], times);
        var failed = Assert.IsType<NextStep.Failed>(step);
        Assert.Contains("HTTP 500", failed.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Default_schedule_is_the_documented_ten_attempts()
    {
        Assert.Equal(
            new[] { 0d, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400 },
            RetryScheduleOptions.DefaultDelays.Select(d => d.TotalSeconds));
        Assert.Equal(10, new DeliveryRetryPolicy().MaxAttempts);
    }

    [Fact]
    public void Jitter_stays_within_the_fraction_and_is_reproducible_with_a_seed()
    {
        var options = new RetryScheduleOptions { JitterFraction = 0.1 };
        var a = new DeliveryRetryPolicy(options, new Random(42));
        var b = new DeliveryRetryPolicy(options, new Random(42));
        var seen = new HashSet<DateTimeOffset>();
        for (var i = 0; i < 200; i++)
        {
            var x = Assert.IsType<NextStep.RetryAt>(a.Decide(3, Status(500), Now)).At;
            Assert.Equal(x, Assert.IsType<NextStep.RetryAt>(b.Decide(3, Status(500), Now)).At);
            Assert.InRange(x, Now.AddMinutes(27), Now.AddMinutes(33));
            seen.Add(x);
        }

        Assert.True(seen.Count > 100, "jitter should spread retries out");
    }

    [Fact]
    public void Retry_after_later_than_the_schedule_wins()
    {
        var step = Assert.IsType<NextStep.RetryAt>(new DeliveryRetryPolicy(Seconds).Decide(1, Status(429, "120"), Now));
        Assert.Equal(Now.AddSeconds(120), step.At);
    }

    [Fact]
    public void Retry_after_never_brings_an_attempt_earlier_than_the_schedule()
    {
        var step = Assert.IsType<NextStep.RetryAt>(new DeliveryRetryPolicy(Seconds).Decide(3, Status(503, "0"), Now));
        Assert.Equal(Now.AddSeconds(4), step.At);
    }

    [Fact]
    public void Retry_after_as_http_date_is_honoured_and_capped()
    {
        var policy = new DeliveryRetryPolicy(Seconds with { MaxRetryAfter = TimeSpan.FromHours(24) });
        var date = Assert.IsType<NextStep.RetryAt>(policy.Decide(1, Status(503, Now.AddMinutes(10).ToString("r")), Now));
        Assert.Equal(Now.AddMinutes(10), date.At);

        var huge = Assert.IsType<NextStep.RetryAt>(policy.Decide(1, Status(429, "99999999999999999999"), Now));
        Assert.Equal(Now.AddHours(24), huge.At);
    }

    [Fact]
    public void Retry_after_is_ignored_on_other_statuses_and_when_malformed()
    {
        var policy = new DeliveryRetryPolicy(Seconds);
        Assert.Equal(Now.AddSeconds(1), Assert.IsType<NextStep.RetryAt>(policy.Decide(1, Status(500, "600"), Now)).At);
        Assert.Equal(Now.AddSeconds(1), Assert.IsType<NextStep.RetryAt>(policy.Decide(1, Status(429, "soon"), Now)).At);
    }

    [Fact]
    public void Retry_after_still_uses_up_an_attempt()
    {
        var policy = new DeliveryRetryPolicy(Seconds);
        Assert.IsType<NextStep.Failed>(policy.Decide(policy.MaxAttempts, Status(429, "5"), Now));
    }

    [Theory]
    [InlineData("120", 120)]
    [InlineData(" 7 ", 7)]
    [InlineData("Sat, 01 Mar 2025 12:01:00 GMT", 60)]
    [InlineData("Sat, 01 Mar 2025 11:00:00 GMT", 0)]
    public void Parses_retry_after_forms(string header, int seconds)
    {
        Assert.True(RetryAfterHeader.TryParse(header, Now, out var wait));
        Assert.Equal(TimeSpan.FromSeconds(seconds), wait);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-5")]
    [InlineData("1.5")]
    [InlineData("tomorrow")]
    public void Rejects_malformed_retry_after(string? header) => Assert.False(RetryAfterHeader.TryParse(header, Now, out _));

    [Fact]
    public void Refuses_nonsense_options()
    {
        Assert.Throws<ArgumentException>(() => new DeliveryRetryPolicy(new RetryScheduleOptions { Delays = [] }));
        Assert.Throws<ArgumentException>(() => new DeliveryRetryPolicy(new RetryScheduleOptions { JitterFraction = 1 }));
        Assert.Throws<ArgumentException>(() => new DeliveryRetryPolicy(new RetryScheduleOptions { Delays = [TimeSpan.FromSeconds(-1)] }));
    }
}
