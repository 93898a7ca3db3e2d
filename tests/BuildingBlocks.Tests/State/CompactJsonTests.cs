using System.Text;
using System.Text.Json;
using Serverless.BuildingBlocks.State;

namespace BuildingBlocks.Tests.State;

public class CompactJsonTests
{
    private static readonly JsonSerializerOptions Options = StateStoreJsonExtensions.JsonOptions;

    private sealed record Sample(string Name, IReadOnlyList<Line> Lines);

    private sealed record Line(string Sku, decimal Price, int Quantity, string Note);

    private static Sample Large(int lines) =>
        new("basket", Enumerable.Range(0, lines).Select(i => new Line($"SKU-{i:D5}", 10.25m + i, i % 7 + 1, "regular line, nothing special")).ToList());

    [Fact]
    public void A_large_value_is_stored_compressed_much_smaller_and_reads_back_equal()
    {
        var value = Large(100);
        var json = JsonSerializer.SerializeToUtf8Bytes(value, Options);
        var stored = CompactJson.Serialize(value, Options);

        Assert.True(CompactJson.IsCompressed(stored));
        Assert.True(stored.Length * 4 < json.Length, $"{stored.Length} bytes stored for {json.Length} bytes of JSON");
        var read = CompactJson.Deserialize<Sample>(stored, Options)!;
        Assert.Equal(value.Name, read.Name);
        Assert.Equal(value.Lines, read.Lines);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_json_is_byte_for_byte_what_the_serializer_gives_with_the_options_encoder_and_indentation(bool indented)
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web) { WriteIndented = indented, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        var small = new Line("Käse <b>", 1.5m, 2, "ünïcode & \"quotes\"");
        var large = Large(60) with { Name = "Käse <b> & \"more\"" };

        // Twice each and interleaved with the default options: the thread's writer is reused, and swapped for other options.
        for (var round = 0; round < 2; round++)
        {
            Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(small, options), CompactJson.Serialize(small, options));
            Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(small, Options), CompactJson.Serialize(small, Options));
            var stored = CompactJson.Serialize(large, options);
            Assert.True(CompactJson.IsCompressed(stored));
            Assert.Equal(Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(large, options)), CompactJson.Deserialize<JsonElement>(stored, options).GetRawText());
        }
    }

    [Fact]
    public void A_serialisation_that_threw_leaves_nothing_behind_for_the_next_one()
    {
        var options = new JsonSerializerOptions(Options);
        options.Converters.Add(new ThrowingLineConverter());
        Assert.Throws<InvalidOperationException>(() => CompactJson.Serialize(Large(60), options));

        var next = CompactJson.Serialize(new Sample("after", []), options);
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new Sample("after", []), options), next);
    }

    private sealed class ThrowingLineConverter : System.Text.Json.Serialization.JsonConverter<Line>
    {
        public override Line Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Line value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("sku", value.Sku);
            throw new InvalidOperationException("a converter failed halfway through");
        }
    }

    [Fact]
    public void A_small_value_stays_plain_json()
    {
        var value = new Line("SKU-1", 1.5m, 2, "short");
        var stored = CompactJson.Serialize(value, Options);

        Assert.False(CompactJson.IsCompressed(stored));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(value, Options), stored);
        Assert.Equal(value, CompactJson.Deserialize<Line>(stored, Options));
    }

    [Fact]
    public void Bytes_that_would_not_shrink_are_kept_as_they_are()
    {
        // Random bytes do not compress: over the threshold, but stored as they are rather than larger.
        var random = new byte[4096];
        new Random(7).NextBytes(random);
        random[0] = (byte)'{';

        Assert.Same(random, CompactJson.Compress(random));
    }

    [Fact]
    public void Plain_json_written_before_compression_reads_unchanged_also_through_the_store_extensions()
    {
        var value = Large(100);
        var plain = JsonSerializer.SerializeToUtf8Bytes(value, Options);
        Assert.Equal(value.Lines, CompactJson.Deserialize<Sample>(plain, Options)!.Lines);

        var compressed = new StateItem("k", CompactJson.Serialize(value, Options), "1", null);
        Assert.Equal(value.Lines, compressed.Deserialize<Sample>().Lines);
        Assert.Equal(value.Lines, new StateItem("k", plain, "1", null).Deserialize<Sample>().Lines);
    }

    [Fact]
    public void A_damaged_compressed_value_is_a_json_error_never_a_wrong_value()
    {
        var stored = CompactJson.Serialize(Large(100), Options);

        var truncated = stored[..(stored.Length / 2)];
        Assert.Throws<JsonException>(() => CompactJson.Deserialize<Sample>(truncated, Options));

        var wrongLength = (byte[])stored.Clone();
        wrongLength[1] ^= 0x10;
        Assert.Throws<JsonException>(() => CompactJson.Deserialize<Sample>(wrongLength, Options));

        var hugeLength = (byte[])stored.Clone();
        hugeLength[4] = 0x7F;
        Assert.Throws<JsonException>(() => CompactJson.Deserialize<Sample>(hugeLength, Options));

        Assert.Throws<JsonException>(() => CompactJson.Deserialize<Sample>(new byte[] { CompactJson.BrotliTag, 1 }, Options));
        Assert.Throws<JsonException>(() => CompactJson.Deserialize<Sample>(Encoding.UTF8.GetBytes("\u0001not brotli at all"), Options));
    }
}
