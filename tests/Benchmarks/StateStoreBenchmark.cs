using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace Serverless.Benchmarks;

/// <summary>ETag-checked writes/s: N writers each update their own key with the ETag of their previous write.</summary>
internal static class StateStoreBenchmark
{
    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var engine = arguments.Get("engine", "sqlite");
        var writers = arguments.GetInt("writers", 8);
        var seconds = arguments.GetInt("seconds", 10);
        var directory = Directory.CreateTempSubdirectory("bench-state-");
        SqliteDatabase? database = null;
        NpgsqlDataSource? dataSource = null;
        var schema = "bench_" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            IStateStore store;
            if (engine == "postgres")
            {
                dataSource = PostgresDataSource.Create(BenchmarkArguments.Require("SERVERLESS_TEST_POSTGRES"));
                store = await PostgresStateStore.OpenAsync(dataSource, schema, new OutboxSignal());
            }
            else
            {
                database = new SqliteDatabase(Path.Combine(directory.FullName, "bench.db"), NullLogger<SqliteDatabase>.Instance);
                store = await SqliteStateStore.OpenAsync(database, new OutboxSignal());
            }

            var value = new byte[200];
            var etags = new string[writers];
            for (var w = 0; w < writers; w++)
            {
                etags[w] = await store.SaveAsync($"bench||{w}", value);
            }

            // Warm-up, then the measured run.
            await RunWritersAsync(store, etags, value, TimeSpan.FromSeconds(2));
            var (writes, latencies) = await RunWritersAsync(store, etags, value, TimeSpan.FromSeconds(seconds));
            latencies.Sort();
            Console.WriteLine($"state engine={engine} writers={writers} seconds={seconds} writes={writes} writes/s={writes / (double)seconds:F0} " +
                              $"p50={Percentile(latencies, 0.50):F2}ms p99={Percentile(latencies, 0.99):F2}ms");
            return 0;
        }
        finally
        {
            if (dataSource is not null)
            {
                await using var drop = dataSource.CreateCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE");
                await drop.ExecuteNonQueryAsync();
                await dataSource.DisposeAsync();
            }

            if (database is not null)
            {
                await database.DisposeAsync();
            }

            directory.Delete(recursive: true);
        }
    }

    private static async Task<(long Writes, List<double> LatenciesMs)> RunWritersAsync(IStateStore store, string[] etags, byte[] value, TimeSpan duration)
    {
        var stop = Stopwatch.StartNew();
        var perWriter = await Task.WhenAll(etags.Select((_, w) => Task.Run(async () =>
        {
            var latencies = new List<double>(100_000);
            while (stop.Elapsed < duration)
            {
                var started = Stopwatch.GetTimestamp();
                etags[w] = await store.SaveAsync($"bench||{w}", value, new StateWriteOptions(ETag: etags[w]));
                latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            }

            return latencies;
        })));
        var all = perWriter.SelectMany(l => l).ToList();
        return (all.Count, all);
    }

    internal static double Percentile(List<double> sorted, double p) => sorted.Count == 0 ? 0 : sorted[Math.Min(sorted.Count - 1, (int)(p * sorted.Count))];
}
