using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;

namespace Serverless.Benchmarks;

/// <summary>
/// An open-loop, constant-rate HTTP load driver (the wrk2 way): request i is due at start + i / rate whatever the
/// server does, and its latency runs from that due time to the last byte of the answer, so a stalled server is charged
/// for every request it held up (no coordinated omission). N keep-alive connections, a thread each with a blocking
/// socket and pre-built request bytes (the cheapest way found to drive a server that shares the cores), take the
/// requests in schedule order; a request waits for a free connection if all are busy, and that wait counts.
/// Latency from the actual send is printed too.
/// <para>
/// Why not autocannon's <c>overallRate</c>: it gives each connection rate/connections requests per wall-clock second
/// and lets it send them back to back from the start of the second, then pauses it until the next second — a burst at
/// full speed each second, so its "latency at 5,000/s" is latency at saturation for half of every second.
/// </para>
/// Scenarios (the main job running; its admin key in --key-file):
/// <list type="bullet">
/// <item><c>calculate</c>: POST /api/promotions/calculate with the body written by tests/Benchmarks/wrk/calculate.sh
/// (--body-file), expects 200.</item>
/// <item><c>inbound</c>: signed GitHub pushes to /api/webhooks/in/bench (creates the source), a new X-GitHub-Delivery
/// each, expects 202.</item>
/// </list>
/// </summary>
internal static class HttpRateBenchmark
{
    private const string Secret = "bench-secret";

    private const string PushBody =
        """{"ref":"refs/heads/main","before":"6113728f27ae82c7b1a177c8d03f9e96e0adf246","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"retail/checkout"},"pusher":{"name":"octocat"},"commits":[{"id":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","message":"Fix basket rounding","timestamp":"2026-11-22T06:00:00Z","author":{"name":"Octo Cat"},"added":[],"modified":["src/basket.cs"],"removed":[]}]}""";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var baseUrl = new Uri(arguments.Get("url", "http://127.0.0.1:7071"));
        var scenario = arguments.Get("scenario", "calculate");
        var rate = arguments.GetInt("rate", 5000);
        var seconds = arguments.GetInt("seconds", 20);
        var warmup = arguments.GetInt("warmup", 3);
        var connections = arguments.GetInt("connections", 64);
        var key = (await File.ReadAllTextAsync(arguments.Get("key-file", ".data/admin.key"))).Trim();

        Request request;
        switch (scenario)
        {
            case "calculate":
                var body = await File.ReadAllBytesAsync(arguments.Get("body-file", ".data/calculate-body.json"));
                request = new Request(baseUrl, "/api/promotions/calculate", 200, body, null, [("Authorization", "Bearer " + key)]);
                break;
            case "inbound":
                await CreateSourceAsync(baseUrl, key);
                var push = Encoding.UTF8.GetBytes(PushBody);
                var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), push));
                request = new Request(baseUrl, "/api/webhooks/in/bench", 202, push, "X-GitHub-Delivery", [("X-GitHub-Event", "push"), ("X-Hub-Signature-256", signature)]);
                break;
            default:
                Console.Error.WriteLine("--scenario calculate|inbound");
                return 2;
        }

        if (warmup > 0)
        {
            RunAtRate(request, rate, warmup, connections);
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        var result = RunAtRate(request, rate, seconds, connections);
        var elapsed = clock.Elapsed.TotalSeconds;
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        var fromDue = result.FromDue;
        var fromSend = result.FromSend;
        Array.Sort(fromDue);
        Array.Sort(fromSend);
        var n = fromDue.Length;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scenario}: {n} requests at a target of {rate}/s over {connections} connections, done in {elapsed:F2} s ({n / elapsed:F0}/s); answers other than {request.Expect}: {result.Unexpected}; driver CPU {cpu.TotalMilliseconds * 1000 / Math.Max(1, n):F0} µs/request"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency ms from the due time: p50 {At(fromDue, 0.5):F2}  p90 {At(fromDue, 0.9):F2}  p99 {At(fromDue, 0.99):F2}  p99.9 {At(fromDue, 0.999):F2}  max {At(fromDue, 1):F2}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"latency ms from the send:     p50 {At(fromSend, 0.5):F2}  p90 {At(fromSend, 0.9):F2}  p99 {At(fromSend, 0.99):F2}  p99.9 {At(fromSend, 0.999):F2}  max {At(fromSend, 1):F2}"));
        if (arguments.Get("timeline", "false") == "true")
        {
            // Per second of the schedule: the worst latency from the due time (where stalls sit in the run).
            Console.WriteLine("worst latency ms per second: " + string.Join(' ', result.WorstPerSecond.Select(ms => ms.ToString("F0", CultureInfo.InvariantCulture))));
        }

        return result.Unexpected == 0 ? 0 : 1;
    }

    private static double At(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)(sorted.Length * quantile))];

    private static async Task CreateSourceAsync(Uri baseUrl, string key)
    {
        using var http = new HttpClient { BaseAddress = baseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var content = new StringContent($$"""{"kind":"github","secrets":["{{Secret}}"]}""", Encoding.UTF8, "application/json");
        using var put = await http.PutAsync("/api/webhooks/sources/bench", content);
        put.EnsureSuccessStatusCode();
    }

    private static (double[] FromDue, double[] FromSend, int Unexpected, double[] WorstPerSecond) RunAtRate(Request request, int rate, int seconds, int connections)
    {
        var total = rate * seconds;
        var due = new long[total];
        var sent = new long[total];
        var done = new long[total];
        var status = new int[total];
        var start = Stopwatch.GetTimestamp() + Stopwatch.Frequency / 100;
        for (var i = 0; i < total; i++)
        {
            due[i] = start + (long)(i * (double)Stopwatch.Frequency / rate);
        }

        // Each connection's thread takes the next request in schedule order, sleeps until it is due (whole
        // milliseconds, rounded up: never early, up to about a millisecond late, which counts against the server),
        // sends it and reads the answer. When every connection is busy, the next one is taken late and that counts too.
        var next = -1;
        var workers = Enumerable.Range(0, connections).Select(_ => new Thread(() =>
        {
            using var connection = Connection.Open(request);
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                var wait = due[i] - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // The load schedule itself (an open-loop driver waits for each request's due time), not a wait for
                    // something to happen.
                    Thread.Sleep((int)((wait * 1000 + Stopwatch.Frequency - 1) / Stopwatch.Frequency));
                }

                sent[i] = Stopwatch.GetTimestamp();
                status[i] = connection.Send();
                done[i] = Stopwatch.GetTimestamp();
            }
        }) { IsBackground = true }).ToList();
        workers.ForEach(worker => worker.Start());
        workers.ForEach(worker => worker.Join());

        var toMs = 1000.0 / Stopwatch.Frequency;
        double[] fromDue = [.. Enumerable.Range(0, total).Select(i => (done[i] - due[i]) * toMs)];
        return (
            fromDue,
            [.. Enumerable.Range(0, total).Select(i => (done[i] - sent[i]) * toMs)],
            status.Count(s => s != request.Expect),
            [.. fromDue.Chunk(rate).Select(second => second.Max())]);
    }

    /// <summary>The bytes of one request, split where a per-request header value (a delivery id) goes.</summary>
    private sealed class Request
    {
        public Request(Uri baseUrl, string path, int expect, byte[] body, string? uniqueHeader, IReadOnlyList<(string Name, string Value)> headers)
        {
            BaseUrl = baseUrl;
            Expect = expect;
            var head = new StringBuilder()
                .Append(CultureInfo.InvariantCulture, $"POST {path} HTTP/1.1\r\nHost: {baseUrl.Authority}\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\n");
            foreach (var (name, value) in headers)
            {
                head.Append(CultureInfo.InvariantCulture, $"{name}: {value}\r\n");
            }

            if (uniqueHeader is not null)
            {
                head.Append(CultureInfo.InvariantCulture, $"{uniqueHeader}: ");
            }

            Prefix = Encoding.ASCII.GetBytes(head.ToString());
            Suffix = [.. Encoding.ASCII.GetBytes(uniqueHeader is null ? "\r\n" : "\r\n\r\n"), .. body];
            Unique = uniqueHeader is not null;
        }

        public Uri BaseUrl { get; }

        public int Expect { get; }

        public byte[] Prefix { get; }

        public byte[] Suffix { get; }

        public bool Unique { get; }
    }

    /// <summary>One keep-alive HTTP/1.1 connection: writes a request, reads the answer (Content-Length or chunked) whole.</summary>
    private sealed class Connection : IDisposable
    {
        private static readonly string RunId = Guid.NewGuid().ToString("N")[..12];
        private static long s_unique;
        private readonly Socket _socket;
        private readonly Request _request;
        private readonly byte[] _out;
        private byte[] _in = new byte[64 * 1024];
        private int _start;
        private int _end;

        private Connection(Socket socket, Request request)
        {
            _socket = socket;
            _request = request;
            _out = new byte[request.Prefix.Length + 64 + request.Suffix.Length];
            request.Prefix.CopyTo(_out, 0);
        }

        public static Connection Open(Request request)
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            socket.Connect(request.BaseUrl.Host, request.BaseUrl.Port);
            return new Connection(socket, request);
        }

        public int Send()
        {
            var length = _request.Prefix.Length;
            if (_request.Unique)
            {
                length += Encoding.ASCII.GetBytes(RunId + "-", _out.AsSpan(length));
                Utf8Formatter.TryFormat(Interlocked.Increment(ref s_unique), _out.AsSpan(length), out var written);
                length += written;
            }

            _request.Suffix.CopyTo(_out, length);
            length += _request.Suffix.Length;
            var offset = 0;
            while (offset < length)
            {
                offset += _socket.Send(_out.AsSpan(offset, length - offset));
            }

            return ReadAnswer();
        }

        private int ReadAnswer()
        {
            int headerEnd;
            while ((headerEnd = _in.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8)) < 0)
            {
                Fill();
            }

            var head = Encoding.ASCII.GetString(_in, _start, headerEnd);
            _start += headerEnd + 4;
            var status = int.Parse(head.AsSpan(9, 3), CultureInfo.InvariantCulture);
            long contentLength = 0;
            var chunked = false;
            foreach (var line in head.Split("\r\n"))
            {
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    contentLength = long.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("Transfer-Encoding:", StringComparison.OrdinalIgnoreCase) && line.Contains("chunked", StringComparison.OrdinalIgnoreCase))
                {
                    chunked = true;
                }
            }

            if (!chunked)
            {
                Skip(contentLength);
                return status;
            }

            while (true)
            {
                int lineEnd;
                while ((lineEnd = _in.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
                {
                    Fill();
                }

                var size = Convert.ToInt64(Encoding.ASCII.GetString(_in, _start, lineEnd).Split(';')[0].Trim(), 16);
                _start += lineEnd + 2;
                Skip(size + 2);
                if (size == 0)
                {
                    return status;
                }
            }
        }

        private void Skip(long count)
        {
            while (count > 0)
            {
                if (_start == _end)
                {
                    Fill();
                }

                var take = (int)Math.Min(count, _end - _start);
                _start += take;
                count -= take;
            }
        }

        private void Fill()
        {
            if (_start == _end)
            {
                _start = _end = 0;
            }
            else if (_end == _in.Length)
            {
                if (_start == 0)
                {
                    Array.Resize(ref _in, _in.Length * 2);
                }
                else
                {
                    Buffer.BlockCopy(_in, _start, _in, 0, _end - _start);
                    (_start, _end) = (0, _end - _start);
                }
            }

            var read = _socket.Receive(_in.AsSpan(_end));
            if (read == 0)
            {
                throw new IOException("the server closed the connection");
            }

            _end += read;
        }

        public void Dispose() => _socket.Dispose();
    }
}
