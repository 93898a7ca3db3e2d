using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Serverless.Testing;

namespace Integration.Tests;

/// <summary>Promotions end to end over HTTP in the main job: define → activate → calculate, commit, budgets, cancel, validation, refresh.</summary>
public abstract class PromotionsContract : IAsyncLifetime
{
    private LocalHost _host = null!;
    private HttpClient _admin = null!;

    protected virtual IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?>();

    /// <summary>Another instance sharing the same state and bus (distributed only), to show a change reaches every instance.</summary>
    protected LocalHost? Second { get; private set; }

    protected virtual bool HasSecondInstance => false;

    /// <summary>The embedded profile runs with Promotions:CouponSecret set, the distributed one with the secret generated and stored.</summary>
    protected virtual bool ConfiguredCouponSecret => false;

    public async ValueTask InitializeAsync()
    {
        _host = new LocalHost(settings: ProfileSettings);
        _admin = _host.CreateClient(_host.AdminKey);
        if (HasSecondInstance)
        {
            // Timers off on the second instance: Quartz keeps one scheduler per name per process, and two hosts in
            // this test process would share it (and its service provider) across their shutdowns.
            Second = new LocalHost(settings: new Dictionary<string, string?>(ProfileSettings) { ["Serverless:Timers:Enabled"] = "false" });
            _ = Second.Server;
        }
    }

    public virtual async ValueTask DisposeAsync()
    {
        if (Second is not null)
        {
            await Second.DisposeAsync();
        }

        await _host.DisposeAsync();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task DefineAndActivateAsync(string id, decimal percent, string budget = "null")
    {
        var put = await _admin.PutAsync($"/api/promotions/{id}", Json($$$"""
            {"definition":{"name":"{{{percent}}} % off shoes","rewards":[{"type":"percentOffItems","percent":{{{percent}}},"items":{"type":"category","values":["shoes"]}}]},"budget":{{{budget}}}}
            """));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/promotions/{id}/activate", null)).StatusCode);

        // Calculate reads an in-memory snapshot that follows the catalog within a second, not synchronously.
        await Recording.WaitUntilAsync(() => DiscountAsync(_admin, Basket()).GetAwaiter().GetResult() > 0m, TimeSpan.FromSeconds(2), "the activation to reach calculate");
    }

    private static string Basket(int shoes = 2) =>
        $$"""{"basket":{"currency":"EUR","lines":[{"lineId":"l1","sku":"sku-1","category":"shoes","unitPrice":20,"quantity":{{shoes}}},{"lineId":"l2","sku":"sku-2","category":"socks","unitPrice":5,"quantity":1}]},"channel":"pos","store":"berlin-1"}""";

    private static async Task<decimal> DiscountAsync(HttpClient client, string body)
    {
        var response = await client.PostAsync("/api/promotions/calculate", Json(body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("totalDiscount").GetDecimal();
    }

    private async Task<HttpResponseMessage> CommitAsync(string orderId, int shoes = 2) =>
        await _admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"{{orderId}}","order":{{Basket(shoes)}}}"""));

    [Fact]
    public async Task A_defined_and_activated_promotion_prices_baskets_for_a_viewer_key()
    {
        var created = await _admin.PostAsJsonAsync("/api/keys", new { name = "till", role = "viewer" });
        var viewer = _host.CreateClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!);
        await DefineAndActivateAsync("shoes10", 10m);

        var response = await viewer.PostAsync("/api/promotions/calculate", Json(Basket()));
        var priced = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4m, priced.GetProperty("totalDiscount").GetDecimal());
        Assert.Equal(41m, priced.GetProperty("total").GetDecimal());
        var outcome = Assert.Single(priced.GetProperty("promotions").EnumerateArray());
        Assert.Equal("Applied", outcome.GetProperty("reason").GetString());
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PutAsync("/api/promotions/x", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/promotions/orders", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync("/api/promotions/snapshot?store=berlin-1")).StatusCode); // carries coupon batch keys

        var illegal = await _admin.PostAsync("/api/promotions/shoes10/schedule", null);
        Assert.Equal(HttpStatusCode.Conflict, illegal.StatusCode);
        Assert.Equal("application/problem+json", illegal.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_pos_key_prices_commits_returns_and_exports_but_changes_nothing_else()
    {
        var created = await (await _admin.PostAsJsonAsync("/api/keys", new { name = "till-7", role = "pos" })).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("pos", created.GetProperty("role").GetString());
        var pos = _host.CreateClient(created.GetProperty("key").GetString()!);
        await DefineAndActivateAsync("shoes10", 10m);

        Assert.Equal(4m, await DiscountAsync(pos, Basket()));
        Assert.Equal(HttpStatusCode.Created, (await pos.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"till-order-1","order":{{Basket()}}}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pos.PostAsync("/api/promotions/orders/till-order-1/cancel", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await pos.GetAsync("/api/promotions/snapshot?store=berlin-1")).StatusCode);

        Assert.Equal(HttpStatusCode.Forbidden, (await pos.PutAsync("/api/promotions/shoes10", Json("{}"))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.PostAsync("/api/promotions/shoes10/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.PostAsync("/api/promotions/shoes10/coupon-batches", Json("""{"prefix":"X","count":1}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await pos.PostAsJsonAsync("/api/keys", new { name = "x", role = "viewer" })).StatusCode);
    }

    [Fact]
    public async Task Several_vendors_fund_a_promotion_and_the_first_single_vendor_form_is_still_accepted()
    {
        const string Definition = """{"name":"10 % off shoes","rewards":[{"type":"percentOffItems","percent":10,"items":{"type":"category","values":["shoes"]}}]}""";
        var put = await _admin.PutAsync("/api/promotions/funded", Json($$"""{"definition":{{Definition}},"funding":[{"vendor":"acme","share":0.25},{"vendor":"globex","share":0.1}]}"""));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var shown = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/funded");
        Assert.Equal(["acme:0.25", "globex:0.1"], shown.GetProperty("funding").EnumerateArray().Select(f => $"{f.GetProperty("vendor").GetString()}:{f.GetProperty("share").GetDecimal()}"));

        Assert.Equal(HttpStatusCode.OK, (await _admin.PutAsync("/api/promotions/funded", Json($$$"""{"definition":{{{Definition}}},"funding":{"vendor":"acme","share":0.3}}"""))).StatusCode);
        Assert.Equal(1, (await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/funded")).GetProperty("funding").GetArrayLength());

        var refused = await _admin.PutAsync("/api/promotions/funded", Json($$"""{"definition":{{Definition}},"funding":[{"vendor":"acme","share":0.7},{"vendor":"globex","share":0.5}]}"""));
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.True((await refused.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("funding", out _));
    }

    [Fact]
    public async Task Committing_an_order_twice_is_idempotent()
    {
        await DefineAndActivateAsync("shoes10", 10m, """{"totalDiscount":100}""");

        var first = await CommitAsync("order-1");
        var second = await CommitAsync("order-1");
        // The same order spelled differently (amounts 20.00/5.0) is still the same order.
        var third = await _admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"order-1","order":{{Basket().Replace("\"unitPrice\":20,", "\"unitPrice\":20.00,", StringComparison.Ordinal).Replace("\"unitPrice\":5,", "\"unitPrice\":5.0,", StringComparison.Ordinal)}}}"""));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal(
            (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("total").GetDecimal(),
            (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("total").GetDecimal());
        var report = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/shoes10/report");
        Assert.Equal(1, report.GetProperty("orders").GetInt32());
        Assert.Equal(4m, report.GetProperty("discountGiven").GetDecimal());
        Assert.Equal(96m, report.GetProperty("budgetLeft").GetDecimal());
        Assert.Equal(4m, report.GetProperty("byStore").GetProperty("berlin-1").GetProperty("discount").GetDecimal());
    }

    [Fact]
    public async Task Committing_an_order_id_again_with_a_different_basket_is_a_409_and_changes_nothing()
    {
        // Found by review: the stored order used to come back with 200, so a till reusing an id charged the new basket
        // with the old discount.
        await DefineAndActivateAsync("shoes10", 10m, """{"totalDiscount":100}""");
        Assert.Equal(HttpStatusCode.Created, (await CommitAsync("order-1")).StatusCode);

        var reused = await CommitAsync("order-1", shoes: 5);

        Assert.Equal(HttpStatusCode.Conflict, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType?.MediaType);
        var problem = await reused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Order id already used for a different order", problem.GetProperty("title").GetString());
        Assert.Contains("order-1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var stored = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/orders/order-1");
        Assert.Equal(2, stored.GetProperty("result").GetProperty("lines")[0].GetProperty("quantity").GetInt32());
        var report = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/shoes10/report");
        Assert.Equal((1, 4m), (report.GetProperty("orders").GetInt32(), report.GetProperty("discountGiven").GetDecimal()));
        Assert.Equal(HttpStatusCode.OK, (await CommitAsync("order-1")).StatusCode); // the real retry still gets its order
    }

    [Fact]
    public async Task An_exhausted_budget_answers_409_with_the_recalculated_basket_and_a_cancel_releases_it()
    {
        await DefineAndActivateAsync("shoes10", 10m, """{"totalDiscount":6}""");
        Assert.Equal(HttpStatusCode.Created, (await CommitAsync("order-1")).StatusCode);

        var refused = await CommitAsync("order-2");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["shoes10"], problem.GetProperty("exhausted").EnumerateArray().Select(e => e.GetString()));
        // 4 off wanted, 2 left: the recalculated basket gives what is left of the budget.
        Assert.Equal(2m, problem.GetProperty("recalculated").GetProperty("totalDiscount").GetDecimal());
        Assert.Equal(43m, problem.GetProperty("recalculated").GetProperty("total").GetDecimal());
        Assert.Contains(problem.GetProperty("recalculated").GetProperty("notes").EnumerateArray(), n => n.GetString()!.Contains("what is left of its budget", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync("/api/promotions/orders/order-2")).StatusCode);

        var cancelled = await _admin.PostAsync("/api/promotions/orders/order-1/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancelled.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/api/promotions/orders/order-1/cancel", null)).StatusCode);
        Assert.Equal(0m, (await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/shoes10/report")).GetProperty("discountGiven").GetDecimal());

        var retried = await CommitAsync("order-2");
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(4m, (await retried.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("result").GetProperty("totalDiscount").GetDecimal());
    }

    [Fact]
    public async Task Definition_amounts_finer_than_its_currency_allows_are_a_400_with_the_path()
    {
        // Found by review: amountOffItems 0.4 in JPY, or a fixed price of 1.005 in EUR, was accepted and rounded silently.
        var yen = await _admin.PutAsync("/api/promotions/yen", Json("""{"definition":{"name":"yen","currency":"JPY","rewards":[{"type":"amountOffItems","amount":0.4}]}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, yen.StatusCode);
        Assert.Equal("application/problem+json", yen.Content.Headers.ContentType?.MediaType);
        var errors = (await yen.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equal(["has more decimals than JPY allows (0)"], errors.GetProperty("definition.rewards[0].amount").EnumerateArray().Select(e => e.GetString()));

        var euro = await _admin.PutAsync("/api/promotions/euro", Json("""{"definition":{"name":"euro","currency":"EUR","rewards":[{"type":"fixedPricePerItem","price":1.005}]}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, euro.StatusCode);
        Assert.True((await euro.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("definition.rewards[0].price", out _));

        Assert.Equal(HttpStatusCode.Created, (await _admin.PutAsync("/api/promotions/euro", Json("""{"definition":{"name":"euro","currency":"EUR","rewards":[{"type":"fixedPricePerItem","price":1.50}]}}"""))).StatusCode);
    }

    [Fact]
    public async Task A_bad_basket_is_a_400_naming_every_problem_by_its_path()
    {
        var response = await _admin.PostAsync("/api/promotions/calculate", Json("""
            {"basket":{"currency":"EUR","lines":[
              {"lineId":"a","sku":"s1","unitPrice":10,"quantity":-1},
              {"lineId":"b","sku":"s2","unitPrice":-3,"quantity":1},
              {"lineId":"c","sku":"s3","unitPrice":3,"quantity":1,"currency":"USD"},
              {"lineId":"d","sku":"s4","unitPrice":3,"quantity":1,"currency":"XYZ"}]},"channel":"moon"}
            """));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.Equivalent(
            new[] { "channel", "basket.lines[0].quantity", "basket.lines[1].unitPrice", "basket.lines[2].currency", "basket.lines[3].currency" },
            errors.EnumerateObject().Select(e => e.Name).ToArray());

        var lines = string.Join(",", Enumerable.Range(0, 1001).Select(i => $$"""{"lineId":"l{{i}}","sku":"s","unitPrice":1,"quantity":1}"""));
        var tooMany = await _admin.PostAsync("/api/promotions/calculate", Json($$$"""{"basket":{"currency":"EUR","lines":[{{{lines}}}]}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
        Assert.True((await tooMany.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("basket.lines", out _));

        var unknownCurrency = await _admin.PostAsync("/api/promotions/calculate", Json("""{"basket":{"currency":"XXX","lines":[]}}"""));
        Assert.True((await unknownCurrency.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("basket.currency", out _));

        var malformed = await _admin.PostAsync("/api/promotions/calculate", Json("""{"basket":{"currency":"EUR","lines":[{"sku":"s","unitPrice":"cheap","quantity":1}]}}"""));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.True((await malformed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("basket.lines[0].unitPrice", out _));
    }

    [Fact]
    public async Task A_change_reaches_calculate_within_one_second()
    {
        await DefineAndActivateAsync("shoes10", 10m);
        var reader = Second?.CreateClient(_host.AdminKey) ?? _admin;
        await Recording.WaitUntilAsync(() => DiscountAsync(reader, Basket()).GetAwaiter().GetResult() == 4m, TimeSpan.FromSeconds(5), "the first definition");

        var put = await _admin.PutAsync("/api/promotions/shoes10", Json("""
            {"definition":{"name":"20 % off shoes","rewards":[{"type":"percentOffItems","percent":20,"items":{"type":"category","values":["shoes"]}}]}}
            """));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        var changed = Stopwatch.StartNew();
        await Recording.WaitUntilAsync(() => DiscountAsync(reader, Basket()).GetAwaiter().GetResult() == 8m, TimeSpan.FromSeconds(1), "the change to reach calculate");
        Assert.True(changed.Elapsed < TimeSpan.FromSeconds(1), $"took {changed.Elapsed}");

        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/api/promotions/shoes10/pause", null)).StatusCode);
        await Recording.WaitUntilAsync(() => DiscountAsync(reader, Basket()).GetAwaiter().GetResult() == 0m, TimeSpan.FromSeconds(1), "the pause to reach calculate");
    }

    [Fact]
    public async Task A_scheduled_promotion_is_activated_by_the_lifecycle_timer_and_exported_for_the_pos()
    {
        var put = await _admin.PutAsync("/api/promotions/soon", Json($$$"""
            {"definition":{"name":"soon","validity":{"timeZone":"UTC","start":"{{{DateTime.UtcNow.AddSeconds(1):yyyy-MM-ddTHH:mm:ss}}}"},"rewards":[{"type":"percentOffItems","percent":10,"items":{"type":"category","values":["shoes"]}}]}}
            """));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/api/promotions/soon/schedule", null)).StatusCode);

        await Recording.WaitUntilAsync(
            () => _admin.GetFromJsonAsync<JsonElement>("/api/promotions/soon").GetAwaiter().GetResult().GetProperty("status").GetString() == "Active",
            TimeSpan.FromSeconds(15), "the timer to activate the promotion");
        Assert.Equal(["soon"], (await _admin.GetFromJsonAsync<JsonElement>("/api/promotions?status=active")).GetProperty("items").EnumerateArray().Select(i => i.GetProperty("id").GetString()));
        await Recording.WaitUntilAsync(
            () => _admin.GetFromJsonAsync<JsonElement>("/api/promotions/snapshot?store=berlin-1").GetAwaiter().GetResult().GetProperty("promotions").GetArrayLength() == 1,
            TimeSpan.FromSeconds(2), "the export to include it");

        // A definition with day parts, PUT with day names, comes out of the export in the engine's own format.
        var weekend = await _admin.PutAsync("/api/promotions/weekend", Json("""
            {"definition":{"name":"weekend","validity":{"timeZone":"Europe/Berlin","dayParts":[{"days":["Saturday","Sunday"],"from":"10:00:00","to":"18:00:00"}]},"rewards":[{"type":"percentOffItems","percent":5}]}}
            """));
        Assert.Equal(HttpStatusCode.Created, weekend.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync("/api/promotions/weekend/activate", null)).StatusCode);
        var shown = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/weekend");
        Assert.Equal(HttpStatusCode.OK, (await _admin.PutAsync("/api/promotions/weekend", Json($$"""{"definition":{{shown.GetProperty("definition").GetRawText()}}}"""))).StatusCode);
        string export = "";
        await Recording.WaitUntilAsync(() =>
        {
            export = _admin.GetStringAsync("/api/promotions/snapshot?store=berlin-1").GetAwaiter().GetResult();
            return JsonDocument.Parse(export).RootElement.GetProperty("promotions").GetArrayLength() == 2;
        }, TimeSpan.FromSeconds(2), "the export to include the weekend promotion");
        var definitions = Serverless.Promotions.Engine.Definitions.PromotionJson.Deserialize(JsonDocument.Parse(export).RootElement.GetProperty("promotions").GetRawText());
        Assert.Equal(2, Serverless.Promotions.Engine.PromotionSnapshot.Compile(definitions).Definitions.Count);
    }

    private async Task DefineCouponPromotionAsync(string id)
    {
        var put = await _admin.PutAsync($"/api/promotions/{id}", Json("""
            {"definition":{"name":"10 % off shoes with a code","coupon":{},"rewards":[{"type":"percentOffItems","percent":10,"items":{"type":"category","values":["shoes"]}}]},"budget":{"perCouponCode":1}}
            """));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/promotions/{id}/activate", null)).StatusCode);
    }

    private static string BasketWithCoupon(string code) => Basket().Replace("\"store\":\"berlin-1\"", $"\"store\":\"berlin-1\",\"coupons\":[\"{code}\"]", StringComparison.Ordinal);

    [Fact]
    public async Task Coupon_batches_end_to_end_create_download_redeem_once_look_up_and_revoke()
    {
        await DefineCouponPromotionAsync("xmas");
        var created = await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"xmas","count":50}"""));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var batch = await created.Content.ReadFromJsonAsync<JsonElement>();
        var batchId = batch.GetProperty("id").GetString()!;
        Assert.Equal(("XMAS", 50), (batch.GetProperty("prefix").GetString(), batch.GetProperty("count").GetInt32()));
        Assert.True(batch.TryGetProperty("createdAt", out _));
        Assert.False(batch.TryGetProperty("key", out _));
        var codesUrl = batch.GetProperty("codesUrl").GetString()!;
        Assert.Equal($"/api/promotions/xmas/coupon-batches/{batchId}/codes", codesUrl);

        var csv = await _admin.GetAsync(codesUrl);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var codes = (await csv.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(50, codes.Distinct().Count());
        Assert.All(codes, c => Assert.Matches("^XMAS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$", c));
        var page = (await _admin.GetStringAsync(codesUrl + "?offset=10&limit=5")).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(codes[10..15], page);
        var stored = await _admin.GetAsync("/api/state/promotions||coupon-secret");
        Assert.Equal(ConfiguredCouponSecret ? HttpStatusCode.NotFound : HttpStatusCode.OK, stored.StatusCode);
        var listed = await _admin.GetFromJsonAsync<JsonElement>("/api/promotions/xmas/coupon-batches");
        Assert.Equal([batchId], listed.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("id").GetString()));

        // Every instance's calculate accepts the codes (any spelling) within a second of the batch's creation.
        var reader = Second?.CreateClient(_host.AdminKey) ?? _admin;
        var sloppy = codes[0].ToLowerInvariant().Replace("-", "", StringComparison.Ordinal);
        await Recording.WaitUntilAsync(() => DiscountAsync(reader, BasketWithCoupon(sloppy)).GetAwaiter().GetResult() == 4m, TimeSpan.FromSeconds(1), "the batch to reach calculate");
        await Recording.WaitUntilAsync(() => DiscountAsync(_admin, BasketWithCoupon(codes[0])).GetAwaiter().GetResult() == 4m, TimeSpan.FromSeconds(1), "the batch to reach this instance");
        Assert.Equal(0m, await DiscountAsync(_admin, BasketWithCoupon("XMAS-00000-00000-00000")));

        // Single use: the second order with the same code (another spelling) is refused with the basket priced without it.
        var first = await _admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"c-1","order":{{BasketWithCoupon(sloppy)}}}"""));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var consumed = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("consumptions")[0];
        Assert.Equal(codes[0], consumed.GetProperty("coupon").GetString());
        var second = await _admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"c-2","order":{{BasketWithCoupon(codes[0])}}}"""));
        Assert.Equal(HttpStatusCode.Conflict, second.StatusCode);
        Assert.Equal(0m, (await second.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("recalculated").GetProperty("totalDiscount").GetDecimal());

        var used = await _admin.GetFromJsonAsync<JsonElement>($"/api/promotions/coupons/{sloppy}");
        Assert.Equal(("xmas", batchId, 0, false, 1, 1), (used.GetProperty("promotionId").GetString(), used.GetProperty("batchId").GetString(), used.GetProperty("serial").GetInt32(),
            used.GetProperty("valid").GetBoolean(), used.GetProperty("uses").GetInt32(), used.GetProperty("usesAllowed").GetInt32()));
        var fresh = await _admin.GetFromJsonAsync<JsonElement>($"/api/promotions/coupons/{codes[1]}");
        Assert.Equal((true, "Active", 0), (fresh.GetProperty("valid").GetBoolean(), fresh.GetProperty("promotionStatus").GetString(), fresh.GetProperty("uses").GetInt32()));

        // Revoked: its codes stop working on every instance within a second.
        var revoked = await _admin.PostAsync($"/api/promotions/xmas/coupon-batches/{batchId}/revoke", null);
        Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        Assert.True((await revoked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("revoked").GetBoolean());
        var since = Stopwatch.StartNew();
        await Recording.WaitUntilAsync(() => DiscountAsync(reader, BasketWithCoupon(codes[1])).GetAwaiter().GetResult() == 0m, TimeSpan.FromSeconds(1), "the revocation to reach calculate");
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(1), $"took {since.Elapsed}");
        var afterRevoke = await _admin.GetFromJsonAsync<JsonElement>($"/api/promotions/coupons/{codes[1]}");
        Assert.Equal((false, true), (afterRevoke.GetProperty("valid").GetBoolean(), afterRevoke.GetProperty("revoked").GetBoolean()));

        // Unknown things are 404; a viewer may look codes up but not download or create them.
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync("/api/promotions/coupons/XMAS-00000-00000-00000")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync("/api/promotions/coupons/hello")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync("/api/promotions/nope/coupon-batches")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.PostAsync("/api/promotions/nope/coupon-batches", Json("""{"prefix":"X","count":1}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.GetAsync("/api/promotions/xmas/coupon-batches/b-nope/codes")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _admin.PostAsync("/api/promotions/xmas/coupon-batches/b-nope/revoke", null)).StatusCode);
        var key = (await (await _admin.PostAsJsonAsync("/api/keys", new { name = "till", role = "viewer" })).Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString()!;
        var viewer = _host.CreateClient(key);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync($"/api/promotions/coupons/{codes[1]}")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await viewer.GetAsync("/api/promotions/xmas/coupon-batches")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.GetAsync(codesUrl)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await viewer.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"X","count":1}"""))).StatusCode);
    }

    [Fact]
    public async Task Bad_coupon_batch_requests_are_400_with_every_field_path_and_a_promotion_without_a_coupon_is_409()
    {
        await DefineCouponPromotionAsync("xmas");

        async Task<string[]> ErrorsAsync(HttpResponseMessage response)
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return [.. (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").EnumerateObject().Select(e => e.Name).Order()];
        }

        Assert.Equal(["count", "prefix"], await ErrorsAsync(await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"x-mas","count":0}"""))));
        Assert.Equal(["count", "prefix"], await ErrorsAsync(await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"THIRTEENCHARS","count":10000001}"""))));
        Assert.Equal(["count", "prefix"], await ErrorsAsync(await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("{}"))));
        Assert.Equal(["count"], await ErrorsAsync(await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"XMAS","count":"many"}"""))));

        var created = await (await _admin.PostAsync("/api/promotions/xmas/coupon-batches", Json("""{"prefix":"XMAS","count":20}"""))).Content.ReadFromJsonAsync<JsonElement>();
        var codesUrl = created.GetProperty("codesUrl").GetString()!;
        Assert.Equal(["limit", "offset"], await ErrorsAsync(await _admin.GetAsync(codesUrl + "?offset=-1&limit=1000001")));
        Assert.Equal(["limit", "offset"], await ErrorsAsync(await _admin.GetAsync(codesUrl + "?offset=x&limit=0")));
        Assert.Equal(["offset"], await ErrorsAsync(await _admin.GetAsync(codesUrl + "?offset=20")));
        Assert.Equal(2, (await _admin.GetStringAsync(codesUrl + "?offset=18&limit=1000")).Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);

        Assert.Equal(["id"], await ErrorsAsync(await _admin.PutAsync("/api/promotions/coupons", Json("""{"definition":{"name":"n","rewards":[{"type":"percentOffItems","percent":5}]}}"""))));

        await DefineAndActivateAsync("open", 10m);
        var conflict = await _admin.PostAsync("/api/promotions/open/coupon-batches", Json("""{"prefix":"OPEN","count":5}"""));
        Assert.Equal(HttpStatusCode.Conflict, conflict.StatusCode);
        Assert.Equal("application/problem+json", conflict.Content.Headers.ContentType?.MediaType);
        Assert.Contains("needs no coupon", (await conflict.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}

public sealed class EmbeddedPromotionsTests : PromotionsContract
{
    protected override bool ConfiguredCouponSecret => true;

    // Calculate (the active snapshot) and the codes CSV (the batches API) must use this one secret, not the stored one.
    protected override IDictionary<string, string?> ProfileSettings => new Dictionary<string, string?> { ["Promotions:CouponSecret"] = Convert.ToBase64String(new byte[32].Select((_, i) => (byte)(i * 7)).ToArray()) };
}

[Collection(DistributedTimers.Collection)]
public sealed class DistributedPromotionsTests : PromotionsContract
{
    private readonly DistributedProfile _profile = new("promotions");

    protected override bool HasSecondInstance => true;

    // Timers on: the lifecycle timer's activation is part of the contract.
    protected override IDictionary<string, string?> ProfileSettings => _profile.Settings(timers: true);

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _profile.DropSchemaAsync();
    }
}
