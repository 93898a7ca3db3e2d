using System.Globalization;
using System.Text;
using System.Text.Json;
using Serverless.Promotions.Service.Pricing;

namespace Promotions.Service.Tests;

/// <summary>
/// The hand-written calculate body reader is only a faster way to what the general reader gives: whatever it accepts,
/// the general reader (the API's options: web defaults) reads to the same request; whatever is unusual it leaves to the
/// general reader.
/// </summary>
public sealed class CalculationRequestReaderTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);
    private const string Mutations = " \"{}[],:0123456789.-eEtrufalsn\\aZ";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    [Fact]
    public void Reads_random_baskets_exactly_as_the_general_reader_does()
    {
        var random = new Random(20261130);
        for (var i = 0; i < 2_000; i++)
        {
            var json = RandomBody(random);
            var fast = CalculationRequestReader.TryRead(json);
            Assert.NotNull(fast);
            Assert.Equal(Canonical(JsonSerializer.Deserialize<CalculationRequest>(json, Web)!), Canonical(fast));
        }
    }

    [Fact]
    public void A_body_changed_anywhere_is_either_left_to_the_general_reader_or_read_as_it_reads_it()
    {
        var random = new Random(7);
        var taken = 0;
        for (var i = 0; i < 20_000; i++)
        {
            var json = RandomBody(random);
            json[random.Next(json.Length)] = (byte)Mutations[random.Next(Mutations.Length)];
            if (CalculationRequestReader.TryRead(json) is not { } fast)
            {
                continue;
            }

            taken++;
            var general = JsonSerializer.Deserialize<CalculationRequest>(json, Web);
            Assert.NotNull(general);
            Assert.Equal(Canonical(general), Canonical(fast));
        }

        Assert.True(taken > 1_000, $"only {taken} changed bodies were still read by the fast reader");
    }

    [Theory]
    [InlineData("""{"Basket":{"currency":"EUR","lines":[]}}""")] // another spelling: the general reader matches names case-insensitively
    [InlineData("""{"basket":{"currency":"EUR","lines":[]},"extra":1}""")] // unknown members are skipped by the general reader
    [InlineData("""{"basket":{"currency":"EUR","lines":[{"sku":"a","unitPrice":"1.50","quantity":1}]}}""")] // numbers as strings
    [InlineData("""{"basket":{"currency":"EUR","lines":[null]}}""")]
    [InlineData("""{"basket":null}""")]
    [InlineData("""{"basket":{"currency":"EUR","lines":[{"sku":"a","unitPrice":1,"quantity":1.5}]}}""")]
    [InlineData("""{"basket":{"currency":"EUR","lines":[]},}""")]
    [InlineData("""{"basket":{"currency":"EUR","lines":[]}} x""")]
    [InlineData("""[]""")]
    [InlineData("")]
    public void Leaves_unusual_bodies_to_the_general_reader(string json) =>
        Assert.Null(CalculationRequestReader.TryRead(Encoding.UTF8.GetBytes(json)));

    private static string Canonical(CalculationRequest request) => JsonSerializer.Serialize(request, Web);

    private static byte[] RandomBody(Random random)
    {
        string Text() => random.Next(6) switch
        {
            0 => "a\"b\\c",
            1 => "grüße €",
            2 => "\u0001tab\t",
            3 => string.Empty,
            _ => "s" + random.Next(1000).ToString(CultureInfo.InvariantCulture),
        };

        List<string> Texts() => [.. Enumerable.Range(0, random.Next(4)).Select(_ => Text())];
        decimal Amount() => decimal.Round((decimal)random.NextDouble() * 500m - (random.Next(10) == 0 ? 100m : 0m), random.Next(4));

        var body = new Dictionary<string, object?>();
        var basket = new Dictionary<string, object?>();
        if (random.Next(5) > 0)
        {
            basket["currency"] = random.Next(4) == 0 ? "JPY" : "EUR";
        }

        if (random.Next(5) > 0)
        {
            basket["lines"] = Enumerable.Range(0, random.Next(40)).Select(_ =>
            {
                var line = new Dictionary<string, object?> { ["sku"] = Text(), ["unitPrice"] = Amount(), ["quantity"] = random.Next(-2, 20) };
                foreach (var (name, value) in new (string, Func<object?>)[]
                {
                    ("lineId", Text), ("category", Text), ("categories", Texts), ("brand", Text), ("tags", Texts), ("currency", () => "EUR"),
                })
                {
                    if (random.Next(2) == 0)
                    {
                        line[name] = value();
                    }
                }

                return line;
            }).ToList();
        }

        if (random.Next(3) == 0)
        {
            basket["shippingAmount"] = Amount();
        }

        body["basket"] = basket;
        foreach (var name in new[] { "channel", "store", "region" })
        {
            if (random.Next(2) == 0)
            {
                body[name] = Text();
            }
        }

        if (random.Next(2) == 0)
        {
            body["customer"] = new Dictionary<string, object?> { ["id"] = Text(), ["segments"] = Texts(), ["memberTier"] = Text(), ["firstOrder"] = random.Next(2) == 0 };
        }

        if (random.Next(2) == 0)
        {
            body["coupons"] = Texts();
        }

        return JsonSerializer.SerializeToUtf8Bytes(body, random.Next(2) == 0 ? Indented : JsonSerializerOptions.Default);
    }
}
