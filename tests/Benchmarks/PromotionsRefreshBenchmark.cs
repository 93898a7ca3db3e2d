using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.State;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;

namespace Serverless.Benchmarks;

/// <summary>
/// What one catalog change costs another instance: --promotions active promotions of the engine benchmark's retail mix
/// (stored through the real host registration, --profile embedded = SQLite, distributed = PostgreSQL + RabbitMQ), then
/// --edits times one promotion edited (its name) and a second instance's view refreshed from the journal — read what
/// changed, re-order, compile the snapshot again. Reports the refresh's wall time and the process CPU per edit (the
/// host's own view refreshes after each edit too, so the CPU is that of two instances following the change).
/// </summary>
internal static class PromotionsRefreshBenchmark
{
    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var count = arguments.GetInt("promotions", 10_000);
        var edits = arguments.GetInt("edits", 40);
        var pause = TimeSpan.FromMilliseconds(arguments.GetInt("pause-ms", 300));
        var directory = Directory.CreateTempSubdirectory("bench-refresh-");
        var profile = arguments.Get("profile", "embedded");
        using var host = await PromotionsCommitBenchmark.StartHostAsync(arguments, directory);
        try
        {
            var catalog = host.Services.GetRequiredService<PromotionCatalog>();
            var definitions = PromotionsEngineBenchmark.Promotions(count, heavy: false);
            var seeding = Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < definitions.Count)
                {
                    await catalog.PutAsync(definitions[i].Id, new PromotionInput(definitions[i]));
                    await catalog.TransitionAsync(definitions[i].Id, PromotionStatus.Active);
                }
            })));
            seeding.Stop();

            using var other = new ActivePromotions(host.Services.GetRequiredService<IStateStore>(), TimeProvider.System, NullLogger<ActivePromotions>.Instance);
            var first = Stopwatch.StartNew();
            await other.RefreshAsync();
            first.Stop();

            async Task<double> EditAsync(int i)
            {
                await Task.Delay(pause);
                var edited = definitions[(i * 7919 % definitions.Count + definitions.Count) % definitions.Count];
                await catalog.PutAsync(edited.Id, new PromotionInput(edited with { Name = $"{edited.Name} (edit {i})" }));
                var watch = Stopwatch.StartNew();
                return await other.RefreshAsync() ? watch.Elapsed.TotalMilliseconds : throw new InvalidOperationException("The edit did not move the catalog version.");
            }

            // Warm-up (the refresh path compiled to its optimised tier), then the measured edits.
            for (var i = 0; i < 20; i++)
            {
                await EditAsync(-1 - i);
            }

            var times = new List<double>(edits);
            var process = Process.GetCurrentProcess();
            var cpuBefore = process.TotalProcessorTime;
            for (var i = 0; i < edits; i++)
            {
                times.Add(await EditAsync(i));
            }

            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpuBefore).TotalMilliseconds / edits;
            times.Sort();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"promotions-refresh ({profile}): {count} active (stored in {seeding.Elapsed.TotalSeconds:F0} s, first full read and compile {first.ElapsedMilliseconds} ms); {edits} edits, each followed by the other instance's refresh from the journal: min {times[0]:F1} ms, median {times[times.Count / 2]:F1} ms, p90 {times[times.Count * 9 / 10]:F1} ms, max {times[^1]:F1} ms; process CPU {cpu:F1} ms per edit (edit, both instances' refreshes, GC)"));
            return 0;
        }
        finally
        {
            await host.StopAsync();
            directory.Delete(recursive: true);
        }
    }
}
