using System.Diagnostics;
using System.Net;
using System.Text;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runners;
using Serverless.Testing;

namespace Pipelines.Service.Tests;

public sealed class GuardedHttpTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("10.1.2.3")]
    [InlineData("169.254.169.254")]
    [InlineData("::1")]
    public void Private_loopback_and_metadata_addresses_are_refused_by_default(string address)
    {
        using var http = new GuardedHttp([], TimeSpan.FromSeconds(5));
        Assert.False(http.IsAllowed(IPAddress.Parse(address)));
    }

    [Fact]
    public void The_allow_list_opens_private_ranges_but_nothing_else()
    {
        using var http = new GuardedHttp([IPNetwork.Parse("127.0.0.0/8")], TimeSpan.FromSeconds(5));
        Assert.True(http.IsAllowed(IPAddress.Parse("127.0.0.1")));
        Assert.True(http.IsAllowed(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.False(http.IsAllowed(IPAddress.Parse("169.254.169.254")));
        Assert.True(http.IsAllowed(IPAddress.Parse("93.184.216.34")));
    }

    [Fact]
    public async Task A_request_to_a_refused_address_fails_before_connecting_and_is_not_retried()
    {
        using var http = new GuardedHttp([], TimeSpan.FromSeconds(5));
        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:9/"), 0, CancellationToken.None));
        Assert.IsType<ForbiddenDestinationException>(ex.InnerException);
    }

    private static GuardedHttp Loopback(double timeoutSeconds = 10) => new([IPNetwork.Parse("127.0.0.0/8")], TimeSpan.FromSeconds(timeoutSeconds));

    private static Func<HttpRequestMessage> Post(string url) => () => new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent("{\"op\":\"deploy\"}") };

    [Theory]
    [InlineData("POST")]
    [InlineData("PATCH")]
    public async Task A_post_answered_500_is_sent_once_and_a_get_is_retried(string method)
    {
        // Found by review: a POST whose server failed after acting (a deployment started, then a 500) was sent again.
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = Loopback();
        var answer = await http.SendAsync(() => new HttpRequestMessage(new HttpMethod(method), receiver.BaseUrl + "/fail") { Content = new StringContent("{}") }, 0, TestContext.Current.CancellationToken);
        Assert.Equal(500, answer.Status);
        Assert.Equal([$"{method} /fail"], receiver.Targets.ToArray());

        answer = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, receiver.BaseUrl + "/fail"), 0, TestContext.Current.CancellationToken);
        Assert.Equal(500, answer.Status);
        Assert.Equal(Enumerable.Repeat("GET /fail", 1 + GuardedHttp.MaxRetries), receiver.Targets.Skip(1));
    }

    [Fact]
    public async Task A_post_declined_with_429_or_503_is_retried_honouring_a_short_retry_after()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = Loopback();

        // 503 with Retry-After: 1: three retries a second apart (the backoff alone waits 1.4 s in all).
        var started = Stopwatch.GetTimestamp();
        var answer = await http.SendAsync(Post(receiver.BaseUrl + "/unavailable"), 0, TestContext.Current.CancellationToken);
        Assert.Equal(503, answer.Status);
        Assert.Equal(TimeSpan.FromSeconds(1), answer.RetryAfter);
        Assert.Equal(1 + GuardedHttp.MaxRetries, receiver.Targets.Count(t => t == "POST /unavailable"));
        Assert.True(Stopwatch.GetElapsedTime(started) >= TimeSpan.FromSeconds(2.9), $"retried after {Stopwatch.GetElapsedTime(started)}");

        // 429 with Retry-After: 7, over the longest delay (5 s): the backoff applies instead (not 21 s of waiting).
        started = Stopwatch.GetTimestamp();
        answer = await http.SendAsync(Post(receiver.BaseUrl + "/busy"), 0, TestContext.Current.CancellationToken);
        Assert.Equal(429, answer.Status);
        Assert.Equal(1 + GuardedHttp.MaxRetries, receiver.Targets.Count(t => t == "POST /busy"));
        Assert.True(Stopwatch.GetElapsedTime(started) < TimeSpan.FromSeconds(15), $"waited {Stopwatch.GetElapsedTime(started)}");
    }

    [Fact]
    public async Task An_answer_keeps_at_most_the_bytes_asked_for_and_says_whether_there_was_more()
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = Loopback();
        var whole = await http.SendAsync(Post(receiver.BaseUrl + "/ok"), 1024 * 1024, TestContext.Current.CancellationToken);
        Assert.Equal("thanks " + new string('x', 10_000), Encoding.UTF8.GetString(whole.Body));
        Assert.False(whole.Truncated);
        Assert.Equal("utf-8", whole.CharSet);

        var head = await http.SendAsync(Post(receiver.BaseUrl + "/ok"), 100, TestContext.Current.CancellationToken);
        Assert.Equal("thanks " + new string('x', 93), Encoding.UTF8.GetString(head.Body));
        Assert.True(head.Truncated);

        var none = await http.SendAsync(Post(receiver.BaseUrl + "/ok"), 0, TestContext.Current.CancellationToken);
        Assert.Equal(200, none.Status);
        Assert.Empty(none.Body);
    }

    [Fact]
    public async Task The_timeout_bounds_reading_the_body_too()
    {
        // /late-stall answers after 1.4 s, sends part of its body and stalls: the try's deadline ends the read.
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = Loopback(timeoutSeconds: 3);
        var started = Stopwatch.GetTimestamp();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => http.SendAsync(Post(receiver.BaseUrl + "/late-stall"), 1024, TestContext.Current.CancellationToken));
        Assert.InRange(Stopwatch.GetElapsedTime(started), TimeSpan.FromSeconds(2.9), TimeSpan.FromSeconds(30));
        Assert.Equal(["POST /late-stall"], receiver.Targets.ToArray()); // a timeout is not retried
    }
}

/// <summary>
/// Found by review: an http step read the whole answer (HttpClient buffers up to 2 GB) to keep its first 4 KiB. These
/// measure the process's allocations, so they run alone.
/// </summary>
[Collection(nameof(HugeAnswerTests))]
[CollectionDefinition(nameof(HugeAnswerTests), DisableParallelization = true)]
public sealed class HugeAnswerTests
{
    private const long SixtyFourMiB = 64L * 1024 * 1024;

    private static async Task<(long? Length, long Written, bool ClientLeft)> StreamEndAsync(RecordingReceiver receiver)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        (long?, long, bool) ended;
        while (!receiver.Streams.TryDequeue(out ended))
        {
            Assert.True(DateTime.UtcNow < deadline, "the receiver's stream never stopped");
            await Task.Delay(20);
        }

        return ended;
    }

    [Theory]
    [InlineData("/stream/67108864")]
    [InlineData("/stream")]
    public async Task A_huge_or_endless_answer_is_read_only_as_far_as_the_call_keeps_and_then_closed(string path)
    {
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = new GuardedHttp([IPNetwork.Parse("127.0.0.0/8")], TimeSpan.FromSeconds(10));
        await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, receiver.BaseUrl + "/ok"), 0, TestContext.Current.CancellationToken); // warm up

        var before = GC.GetTotalAllocatedBytes(precise: true);
        var answer = await http.SendAsync(() => new HttpRequestMessage(HttpMethod.Get, receiver.BaseUrl + path), StepOutputLimit.HttpBodyReadBytes, TestContext.Current.CancellationToken);
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;

        Assert.Equal(200, answer.Status);
        Assert.True(answer.Truncated);
        Assert.Equal(new string('x', StepOutputLimit.HttpBodyBytes), StepOutputLimit.HttpBody(answer.Body, answer.CharSet));
        Assert.InRange(allocated, 0, 4 * 1024 * 1024); // the body is 64 MiB or endless

        // The receiver saw the client leave, long before it had written everything.
        var (length, written, clientLeft) = await StreamEndAsync(receiver);
        Assert.True(clientLeft);
        if (length is not null)
        {
            Assert.InRange(written, 0, SixtyFourMiB / 2);
        }
    }

    [Fact]
    public async Task A_call_that_keeps_no_body_reads_none_of_an_endless_one()
    {
        // As a health check or a deploy operation asks: the status only.
        await using var receiver = await RecordingReceiver.StartAsync();
        using var http = new GuardedHttp([IPNetwork.Parse("127.0.0.0/8")], TimeSpan.FromSeconds(10));
        var answer = await http.SendOnceAsync(() => new HttpRequestMessage(HttpMethod.Get, receiver.BaseUrl + "/stream"), 0, TestContext.Current.CancellationToken);
        Assert.Equal(200, answer.Status);
        Assert.Empty(answer.Body);
        Assert.True((await StreamEndAsync(receiver)).ClientLeft);
    }
}
