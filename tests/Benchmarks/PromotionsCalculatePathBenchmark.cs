using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Functions.Apis;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Benchmarks;

/// <summary>
/// The calculate endpoint's work without HTTP, one stage at a time, single thread: read the request JSON (the
/// hand-written reader the endpoint uses, and the generated one it falls back to), map + validate, price (the engine,
/// 10,000 promotions, retail mix), write the priced basket JSON (the hand-written writer into a reused buffer, as the
/// endpoint does, and the generated serialiser's fast path it replaced).
/// Shows what the service adds to the engine per request. --seconds per stage.
/// </summary>
internal static class PromotionsCalculatePathBenchmark
{
    public static Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var seconds = arguments.GetInt("seconds", 3);
        var snapshot = PromotionSnapshot.Compile(PromotionsEngineBenchmark.Promotions(arguments.GetInt("promotions", 10_000), heavy: false));
        var basket = PromotionsEngineBenchmark.Basket();
        var json = JsonSerializer.SerializeToUtf8Bytes(new
        {
            basket = new { currency = basket.Currency, shippingAmount = basket.ShippingAmount, lines = basket.Lines.Select(l => new { lineId = l.LineId, sku = l.Sku, categories = l.Categories, brand = l.Brand, tags = l.Tags, unitPrice = l.UnitPrice, quantity = l.Quantity }) },
            channel = "online",
            customer = new { id = "bench", segments = new[] { "students" }, memberTier = "gold" },
            coupons = new[] { "SAVE5" },
        }, PromotionJson.Options);
        var at = new DateTimeOffset(2026, 6, 13, 12, 0, 0, TimeSpan.Zero);
        var request = JsonSerializer.Deserialize(json, PromotionsJsonContext.Default.CalculationRequest)!;
        var (b, c, _) = request.ToPricing(at);
        var result = snapshot.Calculate(b!, c!);

        void Stage(string name, Action action)
        {
            var end = Stopwatch.GetTimestamp() + (long)(0.5 * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                action();
            }

            var n = 0L;
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            end = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < end)
            {
                action();
                n++;
            }

            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-28} {cpu.TotalMilliseconds * 1000 / n,8:F1} µs CPU per call ({n / (double)seconds:F0}/s wall clock)"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"request {json.Length} bytes, response {JsonSerializer.SerializeToUtf8Bytes(result, PromotionsJsonContext.Default.PricingResult).Length} bytes"));
        Stage("read request JSON", () => CalculationRequestReader.TryRead(json));
        Stage("  (generated reader)", () => JsonSerializer.Deserialize(json, PromotionsJsonContext.Default.CalculationRequest));
        Stage("map + validate", () => request.ToPricing(at));
        Stage("price (engine)", () => snapshot.Calculate(b!, c!));
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(32 * 1024);
        var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true });
        Stage("write priced basket JSON", () =>
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            PricingResultWriter.Write(writer, result);
            writer.Flush();
        });
        Stage("  (generated writer)", () =>
        {
            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            JsonSerializer.Serialize(writer, result, PromotionsJsonContext.Default.PricingResult);
        });
        return Task.FromResult(0);
    }
}
