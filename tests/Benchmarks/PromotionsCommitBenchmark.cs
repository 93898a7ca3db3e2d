using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Functions;
using Serverless.Promotions.Service.Active;
using Serverless.Promotions.Service.Catalog;
using Serverless.Promotions.Service.Ledger;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Benchmarks;

/// <summary>
/// Order commits with budget consumption (--profile embedded = SQLite, distributed = PostgreSQL + RabbitMQ) through the
/// real host registration: --promotions percent-off promotions, each on its own sku and with a budget that never runs
/// out; every order is a 3-line basket on 3 random promotions, so each commit takes from 3 ETag-checked usage records and
/// creates its order record (the ledger groups the commits in flight into one transaction per batch). --hot true: every order's first line is on the one shared promotion
/// bench-0 (its usage record is one hot key), the other two on random others. --concurrency orders in flight. Reports
/// orders/s, latency, how many group-commit batches the ledger wrote (and their mean size), how often a batch had to be
/// run again because another writer changed the same counters first, and the size of the hottest usage record at the end.
/// </summary>
internal static class PromotionsCommitBenchmark
{
    /// <summary>A started in-process host with the promotions module (settings: <see cref="BenchmarkArguments.HostSettings"/>).</summary>
    internal static async Task<IHost> StartHostAsync(BenchmarkArguments arguments, DirectoryInfo directory)
    {
        var builder = Host.CreateApplicationBuilder([.. arguments.HostSettings(directory)]);
        builder.AddBuildingBlocks();
        builder.AddPromotions();
        var host = builder.Build();
        await host.StartAsync();
        return host;
    }

    public static async Task<int> RunAsync(Serverless.Benchmarks.BenchmarkArguments arguments)
    {
        var orders = arguments.GetInt("orders", 20_000);
        var concurrency = arguments.GetInt("concurrency", 64);
        var promotions = arguments.GetInt("promotions", 200);
        var hot = arguments.Get("hot", "false") is "true" or "1";
        var stores = arguments.GetInt("stores", 50);
        var directory = Directory.CreateTempSubdirectory("bench-promotions-");
        var profile = arguments.Get("profile", "embedded");
        using var host = await PromotionsCommitBenchmark.StartHostAsync(arguments, directory);
        try
        {
            var catalog = host.Services.GetRequiredService<PromotionCatalog>();
            var ledger = host.Services.GetRequiredService<BudgetLedger>();
            for (var i = 0; i < promotions; i++)
            {
                var id = $"bench-{i}";
                var definition = new PromotionDefinition { Id = id, Name = id, Rewards = [new Reward.PercentOffItems(10m, new ItemPredicate.Sku([$"s{i}"]))] };
                await catalog.PutAsync(id, new PromotionInput(definition, new PromotionBudget(TotalDiscount: 1_000_000_000m, TotalUses: 1_000_000_000)));
                await catalog.TransitionAsync(id, PromotionStatus.Active);
            }

            await host.Services.GetRequiredService<ActivePromotions>().RefreshAsync(force: true);

            CalculationRequest Order(int n)
            {
                var random = new Random(n);
                var lines = Enumerable.Range(0, 3).Select(k => new LineInput { Sku = hot && k == 0 ? "s0" : $"s{(hot ? 1 + random.Next(promotions - 1) : random.Next(promotions))}", UnitPrice = 10m + k, Quantity = 1 + k, LineId = $"l{k}" }).ToList();
                return new CalculationRequest { Basket = new BasketInput { Currency = "EUR", Lines = lines }, Channel = "pos", Store = $"store-{n % stores}", Customer = new CustomerInput { Id = $"c{n % 5000}" } };
            }

            async Task<long[]> RunAsync(int first, int count)
            {
                var latencies = new long[count];
                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < count)
                    {
                        var start = Stopwatch.GetTimestamp();
                        var outcome = await ledger.CommitAsync(new OrderCommit($"order-{first + i}", Order(first + i)));
                        if (outcome.Kind != LedgerOutcomeKind.Committed)
                        {
                            throw new InvalidOperationException($"order {first + i}: {outcome.Kind}");
                        }

                        latencies[i] = Stopwatch.GetTimestamp() - start;
                    }
                })));
                return latencies;
            }

            await RunAsync(-100_000, Math.Min(1000, orders / 10)); // warm-up
            var cpuBefore = Environment.ProcessorCount > 0 ? System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime : TimeSpan.Zero;
            var contendedBefore = ledger.ContendedCommits;
            var batchesBefore = ledger.BatchStatistics;
            var watch = Stopwatch.StartNew();
            var measured = await RunAsync(0, orders);
            watch.Stop();
            var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
            Array.Sort(measured);
            double Ms(double q) => measured[Math.Min(measured.Length - 1, (int)(measured.Length * q))] * 1000.0 / Stopwatch.Frequency;
            var batches = ledger.BatchStatistics;
            var meanBatch = (double)(batches.Items - batchesBefore.Items) / Math.Max(1, batches.Batches - batchesBefore.Batches);
            var hotUsage = await host.Services.GetRequiredService<Serverless.BuildingBlocks.State.IStateStore>().GetAsync("promotions||usage||bench-0");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"promotions-commit ({profile}{(hot ? ", hot" : string.Empty)}): {orders} orders, {concurrency} in flight, {promotions} promotions (3 per order): {orders / watch.Elapsed.TotalSeconds:F0} orders/s; latency ms p50 {Ms(0.5):F2}  p99 {Ms(0.99):F2}  max {Ms(1.0):F2}; benchmark process CPU {cpu.TotalSeconds / watch.Elapsed.TotalSeconds:F2} cores; {batches.Batches - batchesBefore.Batches} batches (mean {meanBatch:F1} orders), {ledger.ContendedCommits - contendedBefore} batches run again after a concurrent change; usage record of bench-0 {hotUsage?.Value.Length ?? 0} bytes"));
            return 0;
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
