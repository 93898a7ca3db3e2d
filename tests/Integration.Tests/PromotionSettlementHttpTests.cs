using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>The settlement statement over HTTP on the embedded profile, with no grace after the end so the lifecycle timer settles at once.</summary>
public sealed class PromotionSettlementHttpTests : IAsyncLifetime
{
    private readonly LocalHost _host = new(settings: new Dictionary<string, string?> { ["Promotions:SettlementGrace"] = "00:00:00" });

    public ValueTask InitializeAsync()
    {
        _ = _host.Server;
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task A_settlement_is_a_404_saying_when_it_will_be_written_until_the_timer_writes_it()
    {
        var admin = _host.CreateClient(_host.AdminKey);
        Assert.Equal(HttpStatusCode.Created, (await admin.PutAsync("/api/promotions/shoes10", Json("""
            {"definition":{"name":"10 % off shoes","currency":"EUR","rewards":[{"type":"percentOffItems","percent":10,"items":{"type":"category","values":["shoes"]}}]},
             "funding":[{"vendor":"acme","share":0.5}]}
            """))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/promotions/shoes10/activate", null)).StatusCode);

        var early = await admin.GetAsync("/api/promotions/shoes10/settlement");
        Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
        Assert.Equal("application/problem+json", early.Content.Headers.ContentType?.MediaType);
        var problem = await early.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Not settled yet", problem.GetProperty("title").GetString());
        Assert.Equal("Promotion 'shoes10' is Active; it is settled 00:00:00 after it ends.", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/api/promotions/nope/settlement")).StatusCode);

        const string Basket = """{"basket":{"currency":"EUR","lines":[{"lineId":"l1","sku":"sku-1","category":"shoes","unitPrice":20,"quantity":2}]},"channel":"pos","store":"berlin-1"}""";
        await Recording.WaitUntilAsync(
            () => admin.PostAsync("/api/promotions/calculate", Json(Basket))
                .GetAwaiter().GetResult().Content.ReadFromJsonAsync<JsonElement>().GetAwaiter().GetResult().GetProperty("totalDiscount").GetDecimal() == 4m,
            TimeSpan.FromSeconds(5),
            "the activation to reach calculate");
        Assert.Equal(HttpStatusCode.Created, (await admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"o-1","order":{{Basket}}}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync("/api/promotions/shoes10/end", null)).StatusCode);

        HttpResponseMessage? settled = null;
        await Recording.WaitUntilAsync(
            () => (settled = admin.GetAsync("/api/promotions/shoes10/settlement").GetAwaiter().GetResult()).StatusCode == HttpStatusCode.OK,
            TimeSpan.FromSeconds(20),
            "the lifecycle timer to settle the promotion");
        var statement = await settled!.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(1, statement.GetProperty("orders").GetInt64());
        Assert.Equal(4m, statement.GetProperty("totalDiscount").GetDecimal());
        Assert.Equal(2m, statement.GetProperty("byFundingParty").GetProperty("acme").GetDecimal());
        Assert.Equal("Settled", (await admin.GetFromJsonAsync<JsonElement>("/api/promotions/shoes10")).GetProperty("status").GetString());
    }
}
