using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Serverless.Benchmarks;
using Serverless.Promotions.Engine.Definitions;

namespace Serverless.Benchmarks;

/// <summary>
/// Seeds a running main job with the engine benchmark's retail mix (--promotions, default 10,000) through the API —
/// PUT then activate, 16 at a time — waits until calculate sees them, and writes the 30-line calculate body the wrk
/// script posts (--out). Ids are "seed-…" (re-running updates them).
/// </summary>
internal static class PromotionsSeed
{
    public static async Task<int> RunAsync(BenchmarkArguments arguments)
    {
        var url = arguments.Get("url", "http://127.0.0.1:7071").TrimEnd('/');
        var count = arguments.GetInt("promotions", 10_000);
        var key = (await File.ReadAllTextAsync(arguments.Get("key-file", ".data/admin.key"))).Trim();
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromMinutes(2) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

        var definitions = PromotionsEngineBenchmark.Promotions(count, heavy: false);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < definitions.Count)
            {
                var id = "seed-" + definitions[i].Id;
                var body = JsonSerializer.Serialize(new { definition = definitions[i] with { Id = id } }, PromotionJson.Options);
                using var put = await http.PutAsync($"/api/promotions/{id}", new StringContent(body, Encoding.UTF8, "application/json"));
                if (!put.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"PUT {id}: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
                }

                using var activate = await http.PostAsync($"/api/promotions/{id}/activate", null);
                if (!activate.IsSuccessStatusCode && activate.StatusCode != System.Net.HttpStatusCode.Conflict)
                {
                    throw new InvalidOperationException($"activate {id}: {(int)activate.StatusCode}");
                }
            }
        })));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seeded {definitions.Count} promotions in {started.Elapsed.TotalSeconds:F1} s"));

        var basket = PromotionsEngineBenchmark.Basket();
        var request = new
        {
            basket = new
            {
                currency = basket.Currency,
                shippingAmount = basket.ShippingAmount,
                lines = basket.Lines.Select(l => new { lineId = l.LineId, sku = l.Sku, categories = l.Categories, brand = l.Brand, tags = l.Tags, unitPrice = l.UnitPrice, quantity = l.Quantity }),
            },
            channel = "online",
            customer = new { id = "bench", segments = new[] { "students" }, memberTier = "gold" },
            coupons = new[] { "SAVE5" },
        };
        var json = JsonSerializer.Serialize(request, PromotionJson.Options);
        var output = arguments.Get("out", "calculate-body.json");
        await File.WriteAllTextAsync(output, json);

        // The snapshot follows the catalog within a second of the last change, plus one reload of everything.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            using var response = await http.PostAsync("/api/promotions/calculate", new StringContent(json, Encoding.UTF8, "application/json"));
            var priced = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var looked = priced.TryGetProperty("promotions", out var outcomes) ? outcomes.GetArrayLength() : 0;
            if (looked >= 40 || waited.Elapsed > TimeSpan.FromMinutes(2))
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"calculate sees them: {looked} promotions looked at for the basket, total discount {priced.GetProperty("totalDiscount")}; body in {output}"));
                return looked >= 40 ? 0 : 1;
            }

            await Task.Delay(250);
        }
    }
}
