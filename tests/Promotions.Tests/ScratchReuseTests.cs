using System.Text.Json;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

/// <summary>
/// Calculations reuse per-thread scratch (state arrays, candidates, line facts) sized for the largest basket seen.
/// A result must not depend on what the thread priced before, nor change when the thread prices the next basket.
/// </summary>
public sealed class ScratchReuseTests
{
    [Fact]
    public void Results_do_not_depend_on_earlier_calculations_on_the_thread()
    {
        var random = new Random(5);
        var snapshots = Enumerable.Range(0, 3).Select(_ => PromotionSnapshot.Compile(RandomBaskets.Promotions(random, 14))).ToList();
        var cases = new List<(PromotionSnapshot Snapshot, Basket Basket)>();
        for (var i = 0; i < 300; i++)
        {
            // Sizes go up and down so arrays are both reused with room to spare and grown; some baskets are above the size
            // whose scratch is kept with the thread.
            cases.Add((snapshots[i % snapshots.Count], RandomBaskets.Basket(random, maxLines: i % 50 == 0 ? 400 : i % 7 == 0 ? 12 : 3)));
        }

        var context = new PricingContext(Noon) { MemberTier = "gold" };
        var reused = new List<(PricingResult Result, string Json)>();
        foreach (var (snapshot, basket) in cases)
        {
            var result = snapshot.Calculate(basket, context);
            reused.Add((result, JsonSerializer.Serialize(result)));
        }

        for (var i = 0; i < cases.Count; i++)
        {
            // A fresh thread starts with empty scratch.
            string? fresh = null;
            var thread = new Thread(() => fresh = JsonSerializer.Serialize(cases[i].Snapshot.Calculate(cases[i].Basket, context)));
            thread.Start();
            thread.Join();
            Assert.Equal(fresh, reused[i].Json);

            // Later calculations on the thread did not change a result already returned.
            Assert.Equal(reused[i].Json, JsonSerializer.Serialize(reused[i].Result));
        }
    }
}
