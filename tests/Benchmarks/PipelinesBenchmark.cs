using System.Diagnostics;
using System.Globalization;
using System.Text;
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
using Serverless.Pipelines.Functions;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Benchmarks;

/// <summary>
/// Pipelines (--profile embedded|distributed): --runs concurrent runs of a DAG of --steps no-op steps (--kind script:
/// `true` in a real process through the runner; publish: an event to a topic nobody subscribes to, through the runner
/// without a process — the no-op runner step; wait: a 1 ms wait (0 s is invalid), orchestrator and timer service only,
/// no runner, so no ready→started latency) in layers of --width. Reports
/// step transitions/s (each attempt's start and end count as one transition each) over the whole batch, and the
/// step ready→started latency (attempt queued → runner reported the start) p50/p99, from the recorded run state.
/// --repeat K measures K batches one after another (after the warm-up) and reports over all of them; with the
/// environment variable BENCH_SLOWEST set it also lists the eight slowest ready→started steps (run, step, when).
/// <para>
/// Open loop (--arrival R): instead of batches started at one instant, a run starts every 1/R s for --warmup plus
/// --seconds seconds; only what happens in the last --seconds counts: transitions in that window, the ready→started
/// latency of the attempts queued in it, and the mean number of runs in progress over it. With no-op steps a run is
/// only as long as its queueing, so 200 concurrent runs means a saturated host; --kind http --step-ms D makes every
/// step a GET to a loopback receiver that answers after D ms (the step does nothing, it only takes time, as real
/// steps do), so R × the run's length gives the concurrent runs at the throughput R × 2 × steps (--slots: the
/// runner's step executions at once, default 1,000); --receiver-url U sends those GETs to a receiver started apart
/// (`slow-receiver`), so this process holds only the platform. --gc-pauses 1 lists the GC pauses in the window and how many of
/// the attempts slower than the p99 waited through one, and after every GC of the run what it promoted (a gen0
/// pause grows with what survives it); --alloc-profile 1 samples allocations by type; --timeline 1
/// prints the window second by second (attempts queued, their ready→started p50 and max).
/// </para>
/// </summary>
internal static class PipelinesBenchmark
{
    private const string NoOpTopic = "bench.noop";

    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var runCount = arguments.GetInt("runs", 200);
        var stepCount = arguments.GetInt("steps", 20);
        var width = arguments.GetInt("width", 4);
        var kind = arguments.Get("kind", "script");
        var profile = arguments.Get("profile", "embedded");

        var stepMs = arguments.GetInt("step-ms", 1000);
        var receiverUrl = arguments.Get("receiver-url", string.Empty);
        await using var receiver = kind == "http" && receiverUrl.Length == 0 ? await SlowReceiverAsync(stepMs, "http://127.0.0.1:0") : null;
        var stepUrl = receiverUrl.Length > 0 ? receiverUrl.TrimEnd('/') + "/step"
            : receiver is null ? null : receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/step";

        var directory = Directory.CreateTempSubdirectory("bench-pipelines-");
        List<string> settings =
        [
            .. arguments.HostSettings(directory),

            // Publish steps may only post to allowed topics; the module declares the named ones.
            $"--Pipelines:Publish:AllowedTopics:0={NoOpTopic}",
            "--Pipelines:Http:AllowList:0=127.0.0.0/8",
            $"--Pipelines:Runner:Slots={arguments.GetInt("slots", 1000)}",
        ];

        var builder = Host.CreateApplicationBuilder([.. settings]);
        builder.AddBuildingBlocks();
        builder.AddPipelines();
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var definitions = host.Services.GetRequiredService<DefinitionStore>();
            var runs = host.Services.GetRequiredService<RunStore>();
            var yaml = new StringBuilder("name: bench\nsteps:\n");
            for (var i = 0; i < stepCount; i++)
            {
                var layer = i / width;
                var needs = layer == 0 ? string.Empty : ", needs: [" + string.Join(", ", Enumerable.Range((layer - 1) * width, width).Select(n => string.Create(CultureInfo.InvariantCulture, $"s{n}"))) + "]";
                var body = kind switch
                {
                    "wait" => "kind: wait, duration: 1ms",
                    "publish" => $"kind: publish, topic: {NoOpTopic}",
                    "http" => $"kind: http, url: '{stepUrl}'",
                    _ => "kind: script, run: 'true'",
                };
                yaml.Append(CultureInfo.InvariantCulture, $"  - {{id: s{i}, {body}{needs}}}\n");
            }

            var saved = await definitions.SaveAsync("bench", yaml.ToString(), PipelineFormat.Yaml, CancellationToken.None);
            if (!saved.Succeeded)
            {
                throw new InvalidOperationException(string.Join("; ", saved.Problems));
            }

            async Task<List<RunRecord>> BatchAsync(int count)
            {
                var started = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => runs.StartAsync(saved.Saved!, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)));
                return await UntilEndedAsync(runs, started.Select(s => s.Run!.RunId), TimeSpan.FromMilliseconds(250));
            }

            if (arguments.Get("arrival", string.Empty) is { Length: > 0 } arrival)
            {
                return await OpenLoopAsync(arguments, runs, saved.Saved!, double.Parse(arrival, CultureInfo.InvariantCulture), profile, kind, stepCount, width);
            }

            // Warm-up: at least 10 runs' worth, so the step path is compiled at its final tier before anything is measured.
            for (var warm = 0; warm < Math.Max(1, 10 / runCount); warm++)
            {
                await BatchAsync(Math.Min(10, runCount));
            }

            // --repeat batches one after another (each waits for the previous to finish): a quiet host's latency
            // tail needs more samples than one small batch gives. Throughput is the recorded busy time of the batches.
            var repeat = arguments.GetInt("repeat", 1);
            var clock = Stopwatch.StartNew();
            var finished = new List<RunRecord>();
            var span = 0.0;
            for (var batch = 0; batch < repeat; batch++)
            {
                var records = await BatchAsync(runCount);
                finished.AddRange(records);

                // Wall time from the first run's creation to the last run's end (recorded), not the polling granularity.
                span += (records.Max(r => r.State.FinishedAt ?? r.State.CreatedAt) - records.Min(r => r.State.CreatedAt)).TotalSeconds;
            }

            var elapsed = clock.Elapsed;
            var attempts = finished.SelectMany(r => r.State.Steps.Values).SelectMany(s => s.Attempts).ToList();
            var transitions = attempts.Count(a => a.StartedAt is not null) + attempts.Count(a => a.FinishedAt is not null);
            var latencies = attempts.Where(a => a.StartedAt is not null).Select(a => (a.StartedAt!.Value - a.QueuedAt).TotalMilliseconds).Order().ToList();
            var succeeded = finished.Count(r => r.State.Status == RunStatus.Succeeded);
            if (Environment.GetEnvironmentVariable("BENCH_SLOWEST") is not null)
            {
                foreach (var (step, attempt, run) in finished.SelectMany((r, i) => r.State.Steps.SelectMany(s => s.Value.Attempts.Where(a => a.StartedAt is not null).Select(a => (s.Key, a, i)))).OrderByDescending(x => x.a.StartedAt!.Value - x.a.QueuedAt).Take(8))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"slow: run {run} step {step} queued {attempt.QueuedAt:HH:mm:ss.fff} started after {(attempt.StartedAt!.Value - attempt.QueuedAt).TotalMilliseconds:F1} ms"));
                }
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"pipelines profile={profile} kind={kind} runs={runCount}x{repeat} steps={stepCount} width={width} succeeded={succeeded} " +
                $"transitions={transitions} transitions/s={transitions / span:F0} span={span:F2}s (observed {elapsed.TotalSeconds:F2}s) " +
                $"ready->started n={latencies.Count} p50={StateStoreBenchmark.Percentile(latencies, 0.5):F1}ms p99={StateStoreBenchmark.Percentile(latencies, 0.99):F1}ms max={latencies[^1]:F1}ms"));
            return succeeded == runCount * repeat ? 0 : 1;
        }
        finally
        {
            await host.StopAsync();
            directory.Delete(recursive: true);
        }
    }

    /// <summary>
    /// The runs' records once every one has ended (polled every <paramref name="every"/>; at most 10 minutes): four reads
    /// at a time, and only of the runs not seen ended yet. Reading every run at once (a read per run in flight, up to
    /// 1,500) queued the host's own reads and commits behind the benchmark's on each poll, so the attempts of an
    /// open-loop window's last second started seconds late.
    /// </summary>
    private static async Task<List<RunRecord>> UntilEndedAsync(RunStore runs, IEnumerable<string> runIds, TimeSpan every)
    {
        var ids = runIds.ToList();
        var records = new RunRecord?[ids.Count];
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var pending = Enumerable.Range(0, ids.Count).Where(i => records[i]?.State.Status.IsTerminal() != true).ToList();
            if (pending.Count == 0 || deadline.Elapsed > TimeSpan.FromMinutes(10))
            {
                return [.. records.Select(r => r!)];
            }

            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) => records[i] = await runs.GetAsync(ids[i], ct));
            await Task.Delay(every);
        }
    }

    /// <summary>
    /// slow-receiver [--port 7073] [--step-ms 1000]: the open loop's step receiver as a process of its own, for
    /// --receiver-url, so the measured process holds only the platform (a step's HTTP target is another service).
    /// </summary>
    public static async Task<int> RunReceiverAsync(BenchmarkArguments arguments)
    {
        var stepMs = arguments.GetInt("step-ms", 1000);
        await using var receiver = await SlowReceiverAsync(stepMs, string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{arguments.GetInt("port", 7073)}"));
        Console.WriteLine($"slow receiver on {string.Join(", ", receiver.Urls)}: GET /step answers after {stepMs} ms");
        await receiver.WaitForShutdownAsync();
        return 0;
    }

    /// <summary>A loopback receiver whose every answer takes <paramref name="stepMs"/>: the time a real step's work would.</summary>
    private static async Task<WebApplication> SlowReceiverAsync(int stepMs, string url)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls(url);
        var receiver = builder.Build();
        receiver.MapGet("/step", async (CancellationToken ct) =>
        {
            await Task.Delay(stepMs, ct);
            return Results.Ok();
        });
        await receiver.StartAsync();
        return receiver;
    }

    private static async Task<int> OpenLoopAsync(BenchmarkArguments arguments, RunStore runs, StoredPipeline version, double arrival, string profile, string kind, int stepCount, int width)
    {
        var warmup = arguments.GetInt("warmup", 10);
        var seconds = arguments.GetInt("seconds", 30);
        var total = (int)Math.Round(arrival * (warmup + seconds));
        var origin = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var starts = new List<Task<string>>(total);
        var windowStart = (int)Math.Round(arrival * warmup);
        (TimeSpan Cpu, TimeSpan Paused, int Gen0, int Gen2, long Allocated) Sample() => (Process.GetCurrentProcess().TotalProcessorTime, GC.GetTotalPauseDuration(), GC.CollectionCount(0), GC.CollectionCount(2), GC.GetTotalAllocatedBytes());
        var atWindow = Sample();
        AllocationSampler? sampler = null;
        using var pauses = arguments.Get("gc-pauses", string.Empty) == "1" ? new GcPauseTracker() : null;
        for (var i = 0; i < total; i++)
        {
            if (i == windowStart)
            {
                atWindow = Sample();
                sampler = arguments.Get("alloc-profile", string.Empty) == "1" ? new AllocationSampler() : null;
            }

            // Pacing the arrivals (the driver's clock), not waiting for anything the host does.
            var due = TimeSpan.FromSeconds(i / arrival);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            starts.Add(Task.Run(async () => (await runs.StartAsync(version, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!.RunId));
        }

        var afterWindow = Sample();
        sampler?.Dispose();
        var ids = await Task.WhenAll(starts);
        var records = await UntilEndedAsync(runs, ids, TimeSpan.FromMilliseconds(500));

        var from = origin + TimeSpan.FromSeconds(warmup);
        var to = from + TimeSpan.FromSeconds(seconds);
        bool In(DateTimeOffset? at) => at is { } t && t >= from && t < to;
        var attempts = records.SelectMany(r => r.State.Steps.Values).SelectMany(s => s.Attempts).ToList();
        var transitions = attempts.Count(a => In(a.StartedAt)) + attempts.Count(a => In(a.FinishedAt));
        // The attempts queued in the window that started: what the ready→started figures below are made of.
        var measured = attempts.Where(a => In(a.QueuedAt) && a.StartedAt is not null).ToList();
        static double Wait(StepAttempt a) => (a.StartedAt!.Value - a.QueuedAt).TotalMilliseconds;
        var latencies = measured.Select(Wait).Order().ToList();
        var inProgress = records.Sum(r =>
        {
            var start = r.State.CreatedAt > from ? r.State.CreatedAt : from;
            var end = (r.State.FinishedAt ?? to) < to ? r.State.FinishedAt ?? to : to;
            return end > start ? (end - start).TotalSeconds : 0;
        }) / seconds;
        var runLengths = records.Where(r => In(r.State.CreatedAt) && r.State.FinishedAt is not null).Select(r => (r.State.FinishedAt!.Value - r.State.CreatedAt).TotalSeconds).Order().ToList();
        var succeeded = records.Count(r => r.State.Status == RunStatus.Succeeded);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"pipelines open loop profile={profile} kind={kind} step-ms={arguments.GetInt("step-ms", 1000)} arrival={arrival}/s runs={records.Count} succeeded={succeeded} steps={stepCount} width={width} " +
            $"window={seconds}s after {warmup}s: runs in progress (mean)={inProgress:F0} run length p50={StateStoreBenchmark.Percentile(runLengths, 0.5):F2}s " +
            $"transitions/s={transitions / (double)seconds:F0} ready->started n={latencies.Count} p50={StateStoreBenchmark.Percentile(latencies, 0.5):F1}ms " +
            $"p99={StateStoreBenchmark.Percentile(latencies, 0.99):F1}ms p99.9={StateStoreBenchmark.Percentile(latencies, 0.999):F1}ms max={latencies[^1]:F1}ms " +
            $"process CPU={(afterWindow.Cpu - atWindow.Cpu).TotalSeconds / seconds:F2} cores, GC paused {(afterWindow.Paused - atWindow.Paused).TotalMilliseconds:F0} ms ({afterWindow.Gen0 - atWindow.Gen0} gen0, {afterWindow.Gen2 - atWindow.Gen2} gen2), allocated {(afterWindow.Allocated - atWindow.Allocated) / 1024.0 / Math.Max(1, transitions / 2):F0} KB per step"));
        sampler?.Print(Math.Max(1, transitions / 2), "step");
        if (arguments.Get("timeline", string.Empty) == "1")
        {
            // Per second of the window: how many attempts were queued, and their ready→started p50 and max.
            foreach (var second in measured.GroupBy(a => (int)(a.QueuedAt - from).TotalSeconds).OrderBy(g => g.Key))
            {
                var waits = second.Select(Wait).Order().ToList();
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  +{second.Key,3}s queued {waits.Count,5}  p50 {StateStoreBenchmark.Percentile(waits, 0.5),8:F1} ms  max {waits[^1],8:F1} ms"));
            }
        }

        if (pauses is not null)
        {
            // Which of the slowest attempts (over the p99) were waiting while the GC had the process stopped.
            var p99 = StateStoreBenchmark.Percentile(latencies, 0.99);
            var inWindow = pauses.Pauses.Where(p => p.End >= from && p.Start < to).ToList();
            var slow = measured.Where(a => Wait(a) > p99).ToList();
            var overlapping = slow.Count(a => inWindow.Any(p => p.Start < a.StartedAt!.Value && p.End > a.QueuedAt));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"GC pauses in the window: {string.Join(", ", inWindow.Select(p => $"{(p.End - p.Start).TotalMilliseconds:F0} ms at +{(p.Start - from).TotalSeconds:F1}s"))}; " +
                $"attempts slower than the p99 ({p99:F1} ms): {slow.Count}, of which {overlapping} waited through a pause"));
            Console.WriteLine("after each GC of the run:");
            foreach (var stats in pauses.HeapStats)
            {
                Console.WriteLine("  " + stats);
            }
        }

        return succeeded == records.Count ? 0 : 1;
    }
}
