using System.Diagnostics;
using Azure.Messaging;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;

namespace Serverless.Benchmarks;

/// <summary>
/// Publish → handle through the real host registration (AddBuildingBlocks), one subscription.
/// Throughput mode (--events N): publish N events from --publishers concurrent loops and time until the
/// last is handled. Rate mode (--rate R --seconds S): publish at a steady rate and report latency percentiles.
/// </summary>
internal static class PubSubBenchmark
{
    private const string Topic = "bench.orders";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var transport = arguments.Get("transport", "inmemory");
        var directory = Directory.CreateTempSubdirectory("bench-pubsub-");
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..8];
        var settings = new Dictionary<string, string?>
        {
            ["Serverless:Profile"] = transport == "rabbitmq" ? nameof(ServerlessProfile.Distributed) : nameof(ServerlessProfile.Embedded),
            ["Serverless:DataDirectory"] = directory.FullName,
            ["Serverless:PostgresSchema"] = schema,
            ["Serverless:PubSub:ConcurrencyPerSubscription"] = arguments.Get("concurrency", "32"),
            ["Serverless:PubSub:PrefetchCount"] = arguments.Get("prefetch", "256"),
        };
        if (transport == "rabbitmq")
        {
            settings["ConnectionStrings:RabbitMq"] = BenchmarkArguments.Require("SERVERLESS_TEST_RABBITMQ");
            settings["ConnectionStrings:Postgres"] = BenchmarkArguments.Require("SERVERLESS_TEST_POSTGRES");
        }

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddBuildingBlocks();
        var sink = new HandledSink();
        builder.Services.AddSingleton(sink);
        builder.Services.AddSubscription<CountingHandler>(Topic, "bench.counter");
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var publisher = host.Services.GetRequiredService<IEventPublisher>();
            if (arguments.Options.ContainsKey("rate"))
            {
                await RunAtRateAsync(publisher, sink, arguments.GetInt("rate", 1000), arguments.GetInt("seconds", 10), transport);
            }
            else
            {
                await RunFlatOutAsync(publisher, sink, arguments.GetInt("events", 200_000), arguments.GetInt("publishers", 64), transport);
            }

            return 0;
        }
        finally
        {
            await host.StopAsync();
            directory.Delete(recursive: true);
        }
    }

    private static async Task RunFlatOutAsync(IEventPublisher publisher, HandledSink sink, int events, int publishers, string transport)
    {
        var warmUp = Math.Min(5_000, events / 10);
        await PublishAsync(publisher, warmUp, publishers);
        await sink.WaitForAsync(warmUp);

        sink.Reset();
        var clock = Stopwatch.StartNew();
        await PublishAsync(publisher, events, publishers);
        var published = clock.Elapsed;
        await sink.WaitForAsync(events);
        var handled = clock.Elapsed;
        Console.WriteLine($"pubsub transport={transport} events={events} publishers={publishers} " +
                          $"published/s={events / published.TotalSeconds:F0} handled/s={events / handled.TotalSeconds:F0} " +
                          $"total={handled.TotalSeconds:F2}s");
    }

    private static async Task RunAtRateAsync(IEventPublisher publisher, HandledSink sink, int rate, int seconds, string transport)
    {
        // Warm-up at the same rate (JIT, connection pools, queues), not measured.
        await PublishAtRateAsync(publisher, rate, rate * 2);
        await sink.WaitForAsync(rate * 2);
        sink.Reset();

        var total = rate * seconds;
        await PublishAtRateAsync(publisher, rate, total);
        await sink.WaitForAsync(total);
        var latencies = sink.LatenciesMs();
        latencies.Sort();
        Console.WriteLine($"pubsub transport={transport} rate={rate}/s seconds={seconds} events={total} " +
                          $"p50={StateStoreBenchmark.Percentile(latencies, 0.50):F2}ms p99={StateStoreBenchmark.Percentile(latencies, 0.99):F2}ms " +
                          $"max={latencies[^1]:F2}ms");
    }

    private static async Task PublishAtRateAsync(IEventPublisher publisher, int rate, int total)
    {
        var clock = Stopwatch.StartNew();
        var inFlight = new List<Task>(total);
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds(i / (double)rate);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            inFlight.Add(publisher.PublishAsync(Topic, NewEvent()));
        }

        await Task.WhenAll(inFlight);
    }

    private static Task PublishAsync(IEventPublisher publisher, int events, int publishers)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
        {
            while (Interlocked.Increment(ref next) < events)
            {
                await publisher.PublishAsync(Topic, NewEvent());
            }
        })));
    }

    private static CloudEvent NewEvent() => new("/bench", "bench.order.placed", new BinaryData("{\"orderId\":42,\"total\":9.5}"u8.ToArray()), "application/json", CloudEventDataFormat.Json)
    {
        Time = DateTimeOffset.UtcNow,
    };

    private sealed class HandledSink
    {
        private readonly Lock _gate = new();
        private List<double> _latencies = new(1_000_000);
        private long _handled;

        public void Record(DateTimeOffset? published)
        {
            if (published is { } time)
            {
                var latency = (DateTimeOffset.UtcNow - time).TotalMilliseconds;
                lock (_gate)
                {
                    _latencies.Add(latency);
                }
            }

            Interlocked.Increment(ref _handled);
        }

        public void Reset()
        {
            lock (_gate)
            {
                _latencies = new List<double>(1_000_000);
            }

            Interlocked.Exchange(ref _handled, 0);
        }

        public List<double> LatenciesMs()
        {
            lock (_gate)
            {
                return [.. _latencies];
            }
        }

        public async Task WaitForAsync(long count)
        {
            var deadline = Stopwatch.StartNew();
            while (Interlocked.Read(ref _handled) < count)
            {
                if (deadline.Elapsed > TimeSpan.FromMinutes(5))
                {
                    throw new TimeoutException($"only {Interlocked.Read(ref _handled)} of {count} events were handled");
                }

                await Task.Delay(5);
            }
        }
    }

    private sealed class CountingHandler(HandledSink sink) : ISubscriptionHandler
    {
        public Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
        {
            sink.Record(cloudEvent.Time);
            return Task.CompletedTask;
        }
    }
}
