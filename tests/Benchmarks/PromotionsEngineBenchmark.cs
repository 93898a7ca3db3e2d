using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;

namespace Serverless.Benchmarks;

/// <summary>
/// In-process promotion calculation: a snapshot of N mixed promotions (default 10,000) of which ~50 can touch a
/// 30-line basket (30 by sku, 10 by category, 5 by brand, 5 order/shipping-level for any basket); the rest target skus,
/// categories and brands the basket does not have. Single thread, flat out for --seconds, after a one-second warm-up.
/// --mix retail (default) or heavy: see <see cref="Promotions"/>. On a shared machine the wall-clock figures include
/// time the thread waited for a core; calculations per CPU-second is the per-core throughput.
/// </summary>
internal static class PromotionsEngineBenchmark
{
    private static readonly DateTimeOffset At = new(2026, 6, 13, 12, 0, 0, TimeSpan.Zero);

    public static Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var count = arguments.GetInt("promotions", 10_000);
        var seconds = arguments.GetInt("seconds", 10);
        var compileWatch = Stopwatch.StartNew();
        var heavy = arguments.Get("mix", "retail") == "heavy";
        var snapshot = PromotionSnapshot.Compile(Promotions(count, heavy));
        compileWatch.Stop();
        var basket = Basket();
        var context = new PricingContext(At) { Channel = SalesChannel.Online, MemberTier = "gold", Segments = ["students"], Coupons = ["SAVE5"] };

        if (arguments.Get("dump", "") is { Length: > 0 } dumpPath)
        {
            Dump(dumpPath, Promotions(count, heavy), basket);
            return Task.FromResult(0);
        }

        if (arguments.GetInt("compiles", 0) is > 0 and var compiles)
        {
            // What one catalog change costs each instance: the whole snapshot compiled again (warm, after the first).
            var definitions = Promotions(count, heavy).ToList();
            var (times, compileCpu) = TimeRepeats(compiles, _ => () => PromotionSnapshot.Compile(definitions));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"compile {count} promotions ({(heavy ? "heavy" : "retail")} mix): first {compileWatch.ElapsedMilliseconds} ms, then {compiles} more: min {times[0]:F1} ms, median {times[times.Count / 2]:F1} ms, max {times[^1]:F1} ms; process CPU {compileCpu:F1} ms per compile (GC threads included)"));
            return Task.FromResult(0);
        }

        if (arguments.GetInt("recompiles", 0) is > 0 and var recompiles)
        {
            // What one catalog change costs each instance with the incremental compile: one promotion edited (a new
            // priority moves it, and so the ranks of others), the rest taken over from the snapshot before.
            var definitions = snapshot.Definitions.OrderBy(d => d.Id, StringComparer.Ordinal).ToList();
            snapshot = PromotionSnapshot.Compile(definitions); // in id order, as the service passes them
            var (times, changeCpu) = TimeRepeats(recompiles, i =>
            {
                var at = (i * 7919) % definitions.Count;
                definitions[at] = definitions[at] with { Priority = definitions[at].Priority + 1 };
                return () => snapshot = snapshot.Recompile(definitions);
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recompile {count} promotions ({(heavy ? "heavy" : "retail")} mix) after one edit, {recompiles} times: min {times[0]:F1} ms, median {times[times.Count / 2]:F1} ms, p90 {times[times.Count * 9 / 10]:F1} ms, max {times[^1]:F1} ms; process CPU {changeCpu:F1} ms per change (GC threads included)"));
            return Task.FromResult(0);
        }

        if (arguments.GetInt("iterations", 0) is > 0 and var iterations)
        {
            // Fixed work for instruction counting (perf stat -e instructions:u, valgrind): compile + warm-up + N calculations.
            for (var i = 0; i < iterations; i++)
            {
                snapshot.Calculate(basket, context);
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{iterations} calculations"));
            if (typeof(PromotionSnapshot).GetField("Phases")?.GetValue(null) is long[] ph)
            {
                // Only with a temporarily instrumented engine build (bytes allocated per phase, for profiling).
                Console.WriteLine($"validate {ph[0] / ph[6]} gate {ph[1] / ph[6]} state {ph[2] / ph[6]} search {ph[3] / ph[6]} final {ph[4] / ph[6]} build {ph[5] / ph[6]}");
            }
            return Task.FromResult(0);
        }

        var sample = snapshot.Calculate(basket, context);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"snapshot ({(heavy ? "heavy" : "retail")} mix): {count} promotions compiled in {compileWatch.ElapsedMilliseconds} ms; {sample.Promotions.Count} looked at for the basket, {sample.Promotions.Count(p => p.Applied)} applied, search {sample.Search} ({sample.Evaluations} evaluations), saving {sample.TotalDiscount} of {sample.Subtotal}"));

        RunFor(TimeSpan.FromSeconds(1), snapshot, basket, context, null);
        using var allocations = arguments.Get("alloc-profile", "") == "1" ? new AllocationSampler() : null;
        var latencies = new List<long>(1 << 20);
        var gcBefore = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        var threadCpu = arguments.Get("thread-cpu", "") == "1" ? new List<long>(1 << 20) : null;
        var calculations = RunFor(TimeSpan.FromSeconds(seconds), snapshot, basket, context, latencies, threadCpu);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpuBefore;
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        var gcs = (GC.CollectionCount(0) - gcBefore.Item1, GC.CollectionCount(1) - gcBefore.Item2, GC.CollectionCount(2) - gcBefore.Item3);
        latencies.Sort();
        double Micros(double quantile) => latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * quantile))] * 1_000_000.0 / Stopwatch.Frequency;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{calculations / (double)seconds:F0} calculations/s wall clock (1 thread), {calculations / cpu.TotalSeconds:F0} per CPU-second (process CPU incl. GC); latency µs p50 {Micros(0.50):F1}  p99 {Micros(0.99):F1}  p999 {Micros(0.999):F1}  max {Micros(1.0):F1}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{allocated / (double)calculations:F0} bytes allocated per calculation ({calculations} calculations); GCs during the run: gen0 {gcs.Item1}, gen1 {gcs.Item2}, gen2 {gcs.Item3} ({gcs.Item1 * 1000.0 / calculations:F2} gen0 per 1,000 calculations); load average {LoadAverage()}"));
        if (threadCpu is { Count: > 0 })
        {
            // CPU time of the calculating thread per calculation: what the latency would be with a core to itself.
            threadCpu.Sort();
            double CpuMicros(double quantile) => threadCpu[Math.Min(threadCpu.Count - 1, (int)(threadCpu.Count * quantile))] / 1_000.0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"thread CPU time per calculation µs (excludes waiting for a core; adds ~1 µs of clock reads): p50 {CpuMicros(0.50):F1}  p99 {CpuMicros(0.99):F1}  p999 {CpuMicros(0.999):F1}  max {CpuMicros(1.0):F1}"));
        }

        allocations?.Print(calculations, "calc");
        return Task.FromResult(0);
    }

    /// <summary>
    /// Runs <paramref name="prepare"/> (untimed) and then the step it returns (timed) <paramref name="repeats"/> times:
    /// the steps' times sorted, and the process CPU per repeat (GC threads included).
    /// </summary>
    private static (List<double> SortedMilliseconds, double CpuMilliseconds) TimeRepeats(int repeats, Func<int, Action> prepare)
    {
        var times = new List<double>(repeats);
        var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
        for (var i = 0; i < repeats; i++)
        {
            var step = prepare(i);
            var watch = Stopwatch.StartNew();
            step();
            times.Add(watch.Elapsed.TotalMilliseconds);
        }

        var cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalMilliseconds / repeats;
        times.Sort();
        return (times, cpu);
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>
    /// Prices many variations of the benchmark basket (quantities, prices, lines left out, member tier, coupon, time,
    /// order caps) and writes every result as JSON: diff two dumps to check an engine change leaves results identical.
    /// </summary>
    private static void Dump(string path, List<PromotionDefinition> definitions, Basket template)
    {
        var random = new Random(7);
        var snapshots = new[]
        {
            PromotionSnapshot.Compile(definitions),
            PromotionSnapshot.Compile(definitions, new PricingOptions { MaxOrderDiscount = 150m }),
            PromotionSnapshot.Compile(definitions, new PricingOptions { MaxOrderDiscountPercent = 20m, Rounding = Serverless.Promotions.Engine.Money.RoundingMode.HalfUp, MaxExactCandidates = 6 }),
        };
        using var writer = new StreamWriter(path);
        for (var i = 0; i < 600; i++)
        {
            var lines = template.Lines
                .Where(_ => random.Next(4) != 0)
                .Select(line => line with { Quantity = 1 + random.Next(6), UnitPrice = random.Next(3) == 0 ? line.UnitPrice : Math.Round(0.5m + (decimal)random.NextDouble() * 40m, 2) })
                .ToList();
            if (lines.Count == 0)
            {
                continue;
            }

            var basket = new Basket("EUR", lines, random.Next(2) == 0 ? 0m : 4.95m);
            var context = new PricingContext(At.AddHours(random.Next(24 * 14)))
            {
                Channel = random.Next(4) == 0 ? SalesChannel.Pos : SalesChannel.Online,
                MemberTier = random.Next(2) == 0 ? "gold" : null,
                Segments = ["students"],
                Coupons = random.Next(2) == 0 ? ["SAVE5"] : [],
                ExhaustedPromotionIds = random.Next(5) == 0 ? new HashSet<string>(["rel-sku-3", "any-tiers"], StringComparer.Ordinal) : new HashSet<string>(StringComparer.Ordinal),
            };
            var snapshot = snapshots[i % snapshots.Length];
            var result = snapshot.Calculate(basket, context);
            writer.WriteLine(JsonSerializer.Serialize(result));
        }
    }

    private static long RunFor(TimeSpan duration, PromotionSnapshot snapshot, Basket basket, PricingContext context, List<long>? latencies, List<long>? threadCpu = null)
    {
        var calculations = 0L;
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < end)
        {
            var cpuStart = threadCpu is null ? 0 : ThreadCpuNanoseconds();
            var start = Stopwatch.GetTimestamp();
            snapshot.Calculate(basket, context);
            latencies?.Add(Stopwatch.GetTimestamp() - start);
            threadCpu?.Add(ThreadCpuNanoseconds() - cpuStart);
            calculations++;
        }

        return calculations;
    }

    private const int ClockThreadCpuTime = 3;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private static long ThreadCpuNanoseconds() => ClockGetTime(ClockThreadCpuTime, out var time) == 0 ? (time.Seconds * 1_000_000_000L) + time.Nanoseconds : 0;

    /// <summary>30 lines: skus s0–s29, categories c0–c5, brands b0–b3, tag "new" on every third.</summary>
    internal static Basket Basket()
    {
        var lines = Enumerable.Range(0, 30).Select(i => new BasketLine($"l{i}", $"s{i}", 1 + (i % 3), 5m + (i * 1.37m))
        {
            Categories = [$"c{i % 6}"],
            Brand = $"b{i % 4}",
            Tags = i % 3 == 0 ? ["new"] : [],
        }).ToList();
        return new Basket("EUR", lines, 4.95m);
    }

    /// <summary>
    /// Retail mix (default): of the 50 relevant promotions 35 are plain item discounts (percent, amount, fixed price,
    /// member price, percent with an exclusion), 8 use up units (buy X get Y, bundles, Nth item; 2 of them category-wide),
    /// 2 are exclusive and 5 apply to any basket. Heavy mix (--mix heavy): every third item promotion uses up units and
    /// most are category- or brand-wide, so nearly everything conflicts: the search's worst case.
    /// </summary>
    internal static List<PromotionDefinition> Promotions(int count, bool heavy)
    {
        var random = new Random(42);
        var list = new List<PromotionDefinition>(count);
        if (heavy)
        {
            for (var i = 0; i < 30; i++)
            {
                list.Add(ItemPromotion($"rel-sku-{i}", new ItemPredicate.Sku([$"s{i}"]), $"s{i}", i % 9, i, random));
            }

            for (var i = 0; i < 10; i++)
            {
                list.Add(ItemPromotion($"rel-cat-{i}", new ItemPredicate.Category([$"c{i % 6}"]), $"s{i}", (i + 100) % 9, i + 100, random));
            }

            for (var i = 0; i < 5; i++)
            {
                list.Add(ItemPromotion($"rel-brand-{i}", new ItemPredicate.Brand([$"b{i % 4}"]), $"s{i}", (i + 200) % 9, i + 200, random));
            }
        }
        else
        {
            int[] plain = [0, 1, 2, 6, 7, 8];
            for (var i = 0; i < 28; i++)
            {
                list.Add(ItemPromotion($"rel-sku-{i}", new ItemPredicate.Sku([$"s{i}"]), $"s{i}", plain[i % plain.Length], i, random));
            }

            list.Add(ItemPromotion("rel-bxgy-24", new ItemPredicate.Sku(["s24"]), "s24", 3, 1, random));
            list.Add(ItemPromotion("rel-bundle-25", new ItemPredicate.Sku(["s25", "s26", "s27"]), "s25", 4, 1, random));
            list.Add(ItemPromotion("rel-nth-28", new ItemPredicate.Sku(["s28"]), "s28", 5, 1, random));
            list.Add(ItemPromotion("rel-bxgy-29", new ItemPredicate.Sku(["s29"]), "s29", 3, 1, random));
            list.Add(ItemPromotion("rel-bxgy-22", new ItemPredicate.Sku(["s22", "s23"]), "s22", 3, 1, random));
            list.Add(ItemPromotion("rel-nth-20", new ItemPredicate.Sku(["s20", "s21"]), "s20", 5, 1, random));
            list.Add(ItemPromotion("rel-bundle-c0", new ItemPredicate.Category(["c0"]), "s0", 4, 1, random));
            list.Add(ItemPromotion("rel-bxgy-c1", new ItemPredicate.Category(["c1"]), "s1", 3, 1, random));
            for (var i = 0; i < 7; i++)
            {
                ItemPredicate items = i < 4 ? new ItemPredicate.Category([$"c{2 + i}"]) : new ItemPredicate.Brand([$"b{i - 4}"]);
                list.Add(ItemPromotion($"rel-wide-{i}", items, "s0", i % 2, 1, random));
            }

            list.Add(ItemPromotion("rel-exclusive-0", new ItemPredicate.Brand(["b0"]), "s0", 0, 23, random) with { Exclusive = true });
            list.Add(ItemPromotion("rel-exclusive-1", new ItemPredicate.Brand(["b3"]), "s0", 0, 46, random) with { Exclusive = true });
        }

        list.Add(new PromotionDefinition { Id = "any-tiers", Name = "Spend 100 save 10, 200 save 25", Class = StackingClass.Order, Rewards = [new Reward.SpendTiers([new SpendTier(100m, 10m), new SpendTier(200m, 25m)])] });
        list.Add(new PromotionDefinition { Id = "any-every", Name = "Every 50 save 3", Class = StackingClass.Order, Exclusive = true, Rewards = [new Reward.SpendEvery(50m, 3m, 5)] });
        list.Add(new PromotionDefinition { Id = "any-coupon", Name = "5 % with SAVE5", Class = StackingClass.Order, Coupon = new CouponRequirement { Codes = ["SAVE5"] }, Rewards = [new Reward.PercentOffOrder(5m)] });
        list.Add(new PromotionDefinition { Id = "any-ship", Name = "Free shipping over 60", Class = StackingClass.Shipping, Conditions = [new Condition.MinimumSpend(60m)], Rewards = [new Reward.ShippingDiscount(DiscountKind.Free)] });
        list.Add(new PromotionDefinition { Id = "any-gift", Name = "Tote bag", Class = StackingClass.Order, Rewards = [new Reward.FreeGift("tote")] });

        // The rest: the same mix, on skus, categories and brands the basket does not have.
        for (var i = list.Count; i < count; i++)
        {
            ItemPredicate predicate = (i % 10) switch
            {
                < 7 => new ItemPredicate.Sku([$"s{100 + random.Next(50_000)}", $"s{100 + random.Next(50_000)}"]),
                < 9 => new ItemPredicate.Category([$"c{10 + random.Next(500)}"]),
                _ => new ItemPredicate.Brand([$"b{10 + random.Next(200)}"]),
            };
            var kind = heavy ? i % 9 : (i % 20) switch { 0 => 3, 1 => 4, 2 => 5, _ => i % 3 == 0 ? 6 : (i % 9) switch { 3 or 4 or 5 => 0, var k => k } };
            list.Add(ItemPromotion($"other-{i}", predicate, $"s{100 + random.Next(50_000)}", kind, i, random));
        }

        return list;
    }

    private static PromotionDefinition ItemPromotion(string id, ItemPredicate items, string memberSku, int kind, int seed, Random random)
    {
        Reward reward = kind switch
        {
            0 => new Reward.PercentOffItems(5 + random.Next(30), items),
            1 => new Reward.AmountOffItems(1 + random.Next(5), items),
            2 => new Reward.FixedPricePerItem(3 + random.Next(10), items),
            3 => new Reward.BuyXGetY(2, 1, items, MaxApplications: 2),
            4 => new Reward.BundlePrice(3, 10m + random.Next(20), items),
            5 => new Reward.NthItemDiscount(2, 50m, items),
            6 => new Reward.MemberPrice(["gold"], [new SkuPrice(memberSku, 4m)]),
            7 => new Reward.PercentOffItems(10m, new ItemPredicate.AllOf([items, new ItemPredicate.Exclude(new ItemPredicate.Tag(["new"]))])),
            _ => new Reward.AmountOffItems(2m, items),
        };
        return new PromotionDefinition
        {
            Id = id,
            Name = id,
            Priority = seed % 5,
            Class = StackingClass.Item,
            Exclusive = seed % 23 == 0,
            StackingBase = seed % 2 == 0 ? StackingBase.DiscountedPrice : StackingBase.OriginalPrice,
            Validity = (seed % 4) switch
            {
                0 => new PromotionValidity { TimeZone = "Europe/Berlin", DayParts = [new DayPart([DayOfWeek.Saturday, DayOfWeek.Sunday], new TimeOnly(10, 0), new TimeOnly(18, 0))] },
                1 => new PromotionValidity { TimeZone = "America/New_York", Start = new DateTime(2026, 1, 1), End = new DateTime(2026, 12, 31) },
                _ => null,
            },
            Targeting = seed % 7 == 0 ? new PromotionTargeting { Channels = [SalesChannel.Pos] } : null,
            Rewards = [reward],
        };
    }
}
