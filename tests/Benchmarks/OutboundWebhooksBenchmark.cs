using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Messaging;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Functions;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;

namespace Serverless.Benchmarks;

/// <summary>
/// Outbound webhooks (--profile embedded|distributed): platform events → durable deliveries → signed POSTs to a Kestrel receiver
/// on loopback. Flat out (--events N, deliveries/s until all arrived) or at a steady rate (event → delivered latency).
/// </summary>
internal static class OutboundWebhooksBenchmark
{
    private const string Topic = "bench.outbound";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var endpointCount = arguments.GetInt("endpoints", 4);
        var published = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        var latencies = new ConcurrentBag<double>();
        var received = 0L;

        var receiverBuilder = WebApplication.CreateSlimBuilder();
        receiverBuilder.Logging.ClearProviders();
        receiverBuilder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        await using var receiver = receiverBuilder.Build();
        receiver.MapPost("/hook/{n}", (HttpRequest request) =>
        {
            if (published.TryGetValue(request.Headers["webhook-id"].ToString(), out var at))
            {
                latencies.Add(Stopwatch.GetElapsedTime(at).TotalMilliseconds);
            }

            Interlocked.Increment(ref received);
            return Results.Ok();
        });
        await receiver.StartAsync();
        var baseUrl = receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

        var directory = Directory.CreateTempSubdirectory("bench-webhooks-");
        List<string> settings =
        [
            $"--Serverless:DataDirectory={directory.FullName}",
            "--Webhooks:Outbound:AllowList:0=127.0.0.0/8",
            $"--Webhooks:Outbound:Topics:0={Topic}",
            "--Logging:LogLevel:Default=Warning",
        ];
        var profile = arguments.Get("profile", "embedded");
        if (profile == "distributed")
        {
            settings.AddRange([.. arguments.ProfileSettings(), "--Serverless:Timers:Enabled=false"]);
        }

        var builder = Host.CreateApplicationBuilder([.. settings]);
        builder.AddBuildingBlocks();
        builder.AddWebhooks();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var registry = host.Services.GetRequiredService<EndpointRegistry>();
            for (var n = 0; n < endpointCount; n++)
            {
                var created = await registry.CreateAsync(new EndpointRequest($"{baseUrl}/hook/{n}", ["bench.*"]));
                if (!created.Succeeded)
                {
                    throw new InvalidOperationException(string.Join("; ", created.Problems));
                }
            }

            var publisher = host.Services.GetRequiredService<IEventPublisher>();
            async Task PublishAsync(int i)
            {
                var id = $"evt-{i}";
                published[id] = Stopwatch.GetTimestamp();
                await publisher.PublishAsync(Topic, new CloudEvent("/bench", "bench.order.placed", new { i }) { Id = id });
            }

            async Task WaitForAsync(long deliveries)
            {
                var deadline = Stopwatch.StartNew();
                while (Interlocked.Read(ref received) < deliveries && deadline.Elapsed < TimeSpan.FromMinutes(5))
                {
                    await Task.Delay(5);
                }
            }

            // Warm-up.
            for (var i = 0; i < 200; i++)
            {
                await PublishAsync(-1 - i);
            }

            await WaitForAsync(200L * endpointCount);
            Interlocked.Exchange(ref received, 0);
            latencies.Clear();

            if (arguments.Options.ContainsKey("rate"))
            {
                var rate = arguments.GetInt("rate", 500);
                async Task AtRateAsync(int first, int total)
                {
                    var clock = Stopwatch.StartNew();
                    for (var i = 0; i < total; i++)
                    {
                        var due = TimeSpan.FromSeconds(i / (double)rate);
                        if (due > clock.Elapsed)
                        {
                            await Task.Delay(due - clock.Elapsed);
                        }

                        _ = PublishAsync(first + i);
                    }

                    await WaitForAsync((long)total * endpointCount);
                }

                // --warmup seconds at the same rate first (default 3), not measured: the first seconds of a process
                // are still compiling its hot paths to the optimised tier.
                var warmup = rate * arguments.GetInt("warmup", 3);
                await AtRateAsync(-1_000_000_000, warmup);
                Interlocked.Exchange(ref received, 0);
                latencies.Clear();
                var total = rate * arguments.GetInt("seconds", 10);
                await AtRateAsync(0, total);
                var sorted = latencies.Order().ToList();
                Console.WriteLine($"webhooks-out endpoints={endpointCount} rate={rate} events/s deliveries={received} " +
                                  $"p50={StateStoreBenchmark.Percentile(sorted, 0.5):F1}ms p99={StateStoreBenchmark.Percentile(sorted, 0.99):F1}ms max={sorted[^1]:F1}ms");
            }
            else
            {
                var events = arguments.GetInt("events", 5000);
                var clock = Stopwatch.StartNew();
                await Task.WhenAll(Enumerable.Range(0, events).Select(PublishAsync));
                await WaitForAsync((long)events * endpointCount);
                Console.WriteLine($"webhooks-out endpoints={endpointCount} events={events} deliveries={received} " +
                                  $"deliveries/s={received / clock.Elapsed.TotalSeconds:F0} total={clock.Elapsed.TotalSeconds:F2}s");
            }

            return 0;
        }
        finally
        {
            await host.StopAsync();
            directory.Delete(recursive: true);
        }
    }
}
