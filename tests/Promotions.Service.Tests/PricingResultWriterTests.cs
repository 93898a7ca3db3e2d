using System.Buffers;
using System.Buffers.Text;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Service.Pricing;

namespace Serverless.Promotions.Service.Tests;

/// <summary>
/// The hand-written calculate answer writer against the generated serialiser (the same generator options as the
/// API's context) and the reflection serialiser: byte for byte, on random results.
/// </summary>
public sealed class PricingResultWriterTests
{
    [Theory]
    [InlineData("0")]
    [InlineData("0.00")]
    [InlineData("1")]
    [InlineData("-1")]
    [InlineData("0.05")]
    [InlineData("-0.05")]
    [InlineData("5.0")]
    [InlineData("1519.30")]
    [InlineData("0.0000000000000000000000000001")]
    [InlineData("-0.0000000000000000000000000001")]
    [InlineData("79228162514264337593543950335")]
    [InlineData("-79228162514264337593543950335")]
    [InlineData("9223372036854775807")]
    [InlineData("9223372036854775808")]
    [InlineData("-9223372036854775807")]
    [InlineData("-9223372036854775808")]
    [InlineData("922337203685477580.7")]
    [InlineData("18446744073709551615")]
    [InlineData("18446744073709551616")]
    [InlineData("7.9228162514264337593543950335")]
    public void Formats_a_decimal_as_the_json_writer_does(string text)
    {
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(Reference(value), Ours(value));
    }

    [Fact]
    public void Formats_negative_zero_of_every_scale_as_the_json_writer_does()
    {
        for (byte scale = 0; scale <= 28; scale++)
        {
            var negativeZero = new decimal(0, 0, 0, isNegative: true, scale);
            Assert.Equal(Reference(negativeZero), Ours(negativeZero));
        }
    }

    [Fact]
    public void Formats_random_decimals_as_the_json_writer_does()
    {
        var random = new Random(20261202);
        for (var i = 0; i < 200_000; i++)
        {
            var value = RandomDecimal(random);
            Assert.Equal(Reference(value), Ours(value));
        }
    }

    [Fact]
    public void Writes_the_bytes_of_the_generated_and_the_reflection_serialisers()
    {
        var random = new Random(42);
        var reflection = new JsonSerializerOptions(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };
        for (var i = 0; i < 2_000; i++)
        {
            var result = RandomResult(random);
            var ours = WriteOurs(result);
            Assert.Equal(Utf8(JsonSerializer.SerializeToUtf8Bytes(result, GeneratedContext.Default.PricingResult)), ours);
            Assert.Equal(Utf8(JsonSerializer.SerializeToUtf8Bytes(result, reflection)), ours);
        }
    }

    [Fact]
    public void Writes_null_lists_and_null_elements_as_the_generated_serialiser_does()
    {
        var result = new PricingResult("EUR", 1m, 0m, 0m, 0m, 0m, 1m, null!, [null!], null!, null!, SearchMode.NoConflict);
        Assert.Equal(Utf8(JsonSerializer.SerializeToUtf8Bytes(result, GeneratedContext.Default.PricingResult)), WriteOurs(result));
        var line = new LineResult("l", "s", 1, 1m, 1m, null!, [null!], 1m);
        var withLine = result with { Lines = [line, null!], Promotions = [null!], Notes = [null!, "n"] };
        Assert.Equal(Utf8(JsonSerializer.SerializeToUtf8Bytes(withLine, GeneratedContext.Default.PricingResult)), WriteOurs(withLine));
    }

    [Fact]
    public void Writes_an_undefined_enum_value_as_its_number_as_the_generated_serialiser_does()
    {
        var result = new PricingResult("EUR", 1m, 0m, 0m, 0m, 0m, 1m, [], [], [new PromotionOutcome("p", false, (OutcomeReason)99, "m", 0m)], [], (SearchMode)7);
        Assert.Equal(Utf8(JsonSerializer.SerializeToUtf8Bytes(result, GeneratedContext.Default.PricingResult)), WriteOurs(result));
    }

    private static string WriteOurs(PricingResult result)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true }))
        {
            PricingResultWriter.Write(writer, result);
        }

        return Utf8(buffer.WrittenSpan.ToArray());
    }

    private static string Utf8(byte[] bytes) => Encoding.UTF8.GetString(bytes);

    private static string Reference(decimal value)
    {
        var buffer = new byte[64];
        Assert.True(Utf8Formatter.TryFormat(value, buffer, out var written));
        return Encoding.ASCII.GetString(buffer, 0, written);
    }

    private static string Ours(decimal value)
    {
        var buffer = new byte[DecimalUtf8.MaxLength];
        return Encoding.ASCII.GetString(buffer, 0, DecimalUtf8.Format(value, buffer));
    }

    /// <summary>Mostly money-sized (the 64-bit path), sometimes any 96-bit integer; every scale, both signs.</summary>
    private static decimal RandomDecimal(Random random)
    {
        var kind = random.Next(4);
        var lo = random.Next(int.MinValue, int.MaxValue);
        var mid = kind switch { 0 => 0, 1 => random.Next(0, 16), _ => random.Next(int.MinValue, int.MaxValue) };
        var hi = kind == 3 ? random.Next(int.MinValue, int.MaxValue) : 0;
        var scale = (byte)(random.Next(3) == 0 ? random.Next(0, 29) : random.Next(0, 5));
        return new decimal(lo, mid, hi, random.Next(2) == 0, scale);
    }

    private static decimal Money(Random random, bool anySize = true) => random.Next(anySize ? 6 : 4) switch
    {
        0 => 0m,
        1 => new decimal(random.Next(0, 100_000), 0, 0, false, 0),
        2 => new decimal(random.Next(0, 10_000_000), 0, 0, random.Next(8) == 0, 2),
        3 => new decimal(random.Next(0, 1000), 0, 0, false, (byte)random.Next(0, 5)),
        _ => RandomDecimal(random),
    };

    private static string Text(Random random)
    {
        string[] pieces = ["seed-rel-wide-4", "Saved 36.70.", "\"quoted\"", "back\\slash", "<b>&'+", "Grüße", "€", "😀", "tab\t", "new\nline", "\u0001", "", " "];
        var builder = new StringBuilder();
        for (var i = random.Next(0, 4); i > 0; i--)
        {
            builder.Append(pieces[random.Next(pieces.Length)]);
        }

        return builder.ToString();
    }

    private static PricingResult RandomResult(Random random)
    {
        var lines = new List<LineResult>();
        for (var i = random.Next(0, 6); i > 0; i--)
        {
            var adjustments = Enumerable.Range(0, random.Next(0, 4)).Select(_ => new LineAdjustment(Text(random), Money(random), random.Next(-1, 5))).ToList();
            var units = Enumerable.Range(0, random.Next(0, 3)).Select(_ => new UnitPriceGroup(random.Next(0, 9), Money(random))).ToList();
            lines.Add(new LineResult(Text(random), Text(random), random.Next(0, 1000), Money(random), Money(random), adjustments, units, Money(random)));
        }

        var gifts = Enumerable.Range(0, random.Next(0, 3)).Select(_ => new GiftLine(Text(random), Text(random), random.Next(1, 3), Money(random))).ToList();
        var reasons = Enum.GetValues<OutcomeReason>();
        var outcomes = Enumerable.Range(0, random.Next(0, 8)).Select(_ => new PromotionOutcome(Text(random), random.Next(2) == 0, reasons[random.Next(reasons.Length)], Text(random), Money(random))
        {
            RelatedPromotionId = random.Next(3) == 0 ? Text(random) : null,
            MissingAmount = random.Next(3) == 0 ? Money(random) : null,
            PotentialSaving = random.Next(3) == 0 ? Money(random) : null,
            Detail = random.Next(3) == 0 ? Text(random) : null,
            Coupon = random.Next(3) == 0 ? Text(random) : null,
        }).ToList();
        var notes = Enumerable.Range(0, random.Next(0, 3)).Select(_ => Text(random)).ToList();
        var modes = Enum.GetValues<SearchMode>();
        // The three discounts stay money-sized: TotalDiscount adds them up, and any 96-bit values could overflow.
        return new PricingResult(Text(random), Money(random), Money(random, anySize: false), Money(random, anySize: false), Money(random), Money(random, anySize: false), Money(random), lines, gifts, outcomes, notes, modes[random.Next(modes.Length)])
        {
            Evaluations = random.Next(0, 600),
        };
    }
}

/// <summary>The API context's generator options (functions/Promotions.Functions/Apis/PromotionsJsonContext.cs), for PricingResult.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, UseStringEnumConverter = true)]
[JsonSerializable(typeof(PricingResult))]
internal sealed partial class GeneratedContext : JsonSerializerContext;
