using System.Net;
using System.Net.Http.Json;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Serverless.Promotions.Engine.Definitions;

namespace Integration.Tests;

/// <summary>
/// The README's examples, read from the README itself and sent to the main job as its curl lines send them, so the
/// documentation cannot drift from what the API accepts: the webhook source verifies a push signed with its secret, the
/// pipeline YAML saves and starts a run, the promotion examples
/// name every reward type the engine has and are accepted, and the example basket prices and commits against them.
/// </summary>
public sealed class ReadmeExamplesTests : IAsyncLifetime
{
    private static readonly Lazy<string> Readme = new(() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")));

    private LocalHost _host = null!;
    private HttpClient _admin = null!;

    public ValueTask InitializeAsync()
    {
        _host = new LocalHost();
        _admin = _host.CreateClient(_host.AdminKey);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync() => await _host.DisposeAsync();

    [Fact]
    public async Task The_webhook_source_example_is_accepted_and_verifies_a_signed_push()
    {
        var block = CodeBlock("## Webhooks", "bash");
        var source = Regex.Match(block, @"-d '(?<json>\{.+\})'").Groups["json"].Value;
        var name = Regex.Match(block, @"/api/webhooks/sources/(?<name>[\w-]+)").Groups["name"].Value;
        var put = await _admin.PutAsync($"/api/webhooks/sources/{name}", Json(source));
        Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");

        // Signed with the example's secret, as GitHub signs: HMAC-SHA256 of the raw body.
        var secret = JsonDocument.Parse(source).RootElement.GetProperty("secrets")[0].GetString()!;
        var body = """{"ref":"refs/heads/main","before":"0000000000000000000000000000000000000000","after":"59b20b8d5c6ff8d09518454d4dd8b7b30f095ab5","repository":{"full_name":"acme/web"},"pusher":{"name":"octocat"},"commits":[]}""";
        using var delivery = new HttpRequestMessage(HttpMethod.Post, $"/api/webhooks/in/{name}") { Content = Json(body) };
        delivery.Headers.Add("X-GitHub-Event", "push");
        delivery.Headers.Add("X-GitHub-Delivery", Guid.NewGuid().ToString());
        delivery.Headers.Add("X-Hub-Signature-256", "sha256=" + Convert.ToHexStringLower(System.Security.Cryptography.HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(body))));
        var accepted = await _host.CreateClient().SendAsync(delivery);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        var receiptId = (await accepted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("receiptId").GetString();

        var receipts = await _admin.GetFromJsonAsync<JsonElement>($"/api/webhooks/receipts?source={name}");
        Assert.Contains(receipts.GetProperty("items").EnumerateArray(), r => r.GetProperty("id").GetString() == receiptId);
    }

    [Fact]
    public async Task The_pipeline_example_saves_and_a_run_of_it_starts_and_cancels()
    {
        var yaml = CodeBlock("## Pipelines", "yaml");
        var put = await _admin.PutAsync("/api/pipelines/web-release", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(put.IsSuccessStatusCode, $"PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");

        var start = await _admin.PostAsync("/api/pipelines/web-release/runs", Json("""{"parameters":{"env":"prod"}}"""));
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        var runId = (await start.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString();
        Assert.False(string.IsNullOrEmpty(runId));

        var graph = await _admin.GetAsync($"/api/runs/{runId}/graph?format=mermaid");
        Assert.Equal(HttpStatusCode.OK, graph.StatusCode);
        Assert.Contains("gate", await graph.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.True((await _admin.PostAsync($"/api/runs/{runId}/cancel", null)).IsSuccessStatusCode);

        // Cancelled once its finally step has run (its POST to chat.example fails here, which still finishes the run);
        // waited for, so the host does not stop with the step in flight.
        await Recording.WaitUntilAsync(
            () => _admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}").GetAwaiter().GetResult().GetProperty("status").GetString() is "Cancelled",
            TimeSpan.FromSeconds(60),
            "the cancelled run to finish");
    }

    [Fact]
    public async Task The_promotion_examples_name_every_reward_type_are_accepted_and_price_the_example_basket()
    {
        var examples = CodeBlock("One example of every reward type:", "json").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var rewardTypes = typeof(Reward).GetCustomAttributes<JsonDerivedTypeAttribute>().Select(a => (string)a.TypeDiscriminator!).ToHashSet();
        var documented = examples
            .SelectMany(line => JsonDocument.Parse(line).RootElement.GetProperty("definition").GetProperty("rewards").EnumerateArray())
            .Select(reward => reward.GetProperty("type").GetString()!)
            .ToHashSet();
        Assert.Equal(rewardTypes.Order(), documented.Order());

        for (var i = 0; i < examples.Length; i++)
        {
            var put = await _admin.PutAsync($"/api/promotions/readme-{i}", Json(examples[i]));
            Assert.True(put.StatusCode == HttpStatusCode.Created, $"example {i} answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
            Assert.Equal(HttpStatusCode.OK, (await _admin.PostAsync($"/api/promotions/readme-{i}/activate", null)).StatusCode);
        }

        // The calculate section's basket (B='…'): sku-2 is a pair of socks, which "1 off every pair of socks" takes 1.00 off;
        // sku-1 is a pair of acme shoes for a gold member (10 % off shoes, or the member price).
        var basket = Regex.Match(CodeBlock("### Calculate, commit, cancel", "bash"), "^B='(?<json>.+)'$", RegexOptions.Multiline).Groups["json"].Value;
        Assert.NotEmpty(basket);
        var socks = $"readme-{Array.FindIndex(examples, e => e.Contains("socks", StringComparison.Ordinal))}";
        JsonElement priced = default;
        await Recording.WaitUntilAsync(
            () =>
            {
                var response = _admin.PostAsync("/api/promotions/calculate", Json(basket)).GetAwaiter().GetResult();
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                priced = response.Content.ReadFromJsonAsync<JsonElement>().GetAwaiter().GetResult();
                return priced.GetProperty("promotions").EnumerateArray().Any(p => p.GetProperty("promotionId").GetString() == socks);
            },
            TimeSpan.FromSeconds(5),
            "the examples to reach calculate");
        var outcome = priced.GetProperty("promotions").EnumerateArray().Single(p => p.GetProperty("promotionId").GetString() == socks);
        Assert.True(outcome.GetProperty("applied").GetBoolean(), outcome.ToString());
        Assert.Equal(1.00m, outcome.GetProperty("saving").GetDecimal());
        Assert.True(priced.GetProperty("totalDiscount").GetDecimal() > 1.00m, "nothing off the gold member's shoes: " + priced.GetProperty("promotions"));

        var commit = await _admin.PostAsync("/api/promotions/orders", Json($$"""{"orderId":"order-1","order":{{basket}}}"""));
        Assert.Equal(HttpStatusCode.Created, commit.StatusCode);
        var ret = await _admin.PostAsync("/api/promotions/orders/order-1/cancel", Json("""{"returnId":"ret-1","lines":[{"lineId":"1","quantity":1}]}"""));
        Assert.Equal(HttpStatusCode.OK, ret.StatusCode);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    /// <summary>The first fenced block of <paramref name="language"/> after <paramref name="start"/>.</summary>
    private static string CodeBlock(string start, string language)
    {
        var text = Readme.Value;
        var from = text.IndexOf(start, StringComparison.Ordinal);
        Assert.True(from >= 0, $"README has no '{start}'");
        var open = text.IndexOf("```" + language + "\n", from, StringComparison.Ordinal);
        Assert.True(open >= 0, $"README has no {language} block after '{start}'");
        var body = open + language.Length + 4;
        return text[body..text.IndexOf("\n```", body, StringComparison.Ordinal)];
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Serverless.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("Serverless.sln not found above " + AppContext.BaseDirectory);
    }
}
