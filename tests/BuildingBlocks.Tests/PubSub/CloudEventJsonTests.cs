using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;

namespace Serverless.BuildingBlocks.Tests.PubSub;

/// <summary>
/// The direct CloudEvent reader and writer against Azure.Core's: same events, same bytes, and every input the direct
/// path does not take goes to Azure.Core (same result or same error).
/// </summary>
public sealed class CloudEventJsonTests
{
    private static readonly DateTimeOffset Time = new(2026, 11, 30, 10, 0, 0, 123, TimeSpan.FromHours(1));

    public static TheoryData<string> DirectInputs() => new()
    {
        """{"id":"e1","source":"/webhooks/github","type":"scm.push","data":{"ref":"refs/heads/main","commits":[{"id":"a"}]},"time":"2026-11-30T10:00:00.123+01:00","specversion":"1.0","datacontenttype":"application/json","subject":"retail/checkout","traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":"text"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":[1,2.5,true,null,{"a":"\u00e9\"\\"}]}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":42,"time":"2026-01-01T00:00:00Z"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","time":"2026-01-01T00:00:00Z","dataschema":"https://example.com/s","n":5,"b":false,"s":"v"}""",
        """  { "specversion" : "1.0", "type":"t", "source":"s", "id":"x", "data": { "a" : 1 }, "time":"2026-01-01T00:00:00.1234567-05:00" }  """,
        """{"specversion":"1.0","type":"t\u00e9","source":"s\/x","id":"\u0078","data":{}}""",
        """{"\u0069d":"x","specversion":"1.0","type":"t","source":"s","data":{}}""",
    };

    public static TheoryData<string> FallbackInputs() => new()
    {
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data_base64":"AQID"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":null}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","ext":1.5}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","ext":12345678901}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","ext":{"a":1}}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","ext":null}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","Ext":"v"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","id":"y"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","e":"1","e":"2"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":{},"data":{}}""",
        """{"specversion":"0.3","type":"t","source":"s","id":"x"}""",
        """{"type":"t","source":"s","id":"x"}""",
        """{"specversion":"1.0","source":"s","id":"x"}""",
        """{"specversion":"1.0","type":"t","id":"x"}""",
        """{"specversion":"1.0","type":"t","source":"s"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":null}""",
        """{"specversion":"1.0","type":"t","source":"s","id":""}""",
        """{"specversion":"1.0","type":"t","source":"s","id":1}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","time":"yesterday"}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","time":5}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x"} {}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x" /* c */}""",
        """{"specversion":"1.0","type":"t","source":"s","id":"x","data":{"a":}""",
        """[{"specversion":"1.0","type":"t","source":"s","id":"x"}]""",
        """null""",
        "",
    };

    [Theory]
    [MemberData(nameof(DirectInputs))]
    public void The_direct_reader_takes_the_platforms_events_and_reads_them_as_Azure_Core_does(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var direct = CloudEventJson.TryParseDirect(bytes);

        Assert.NotNull(direct);
        AssertSame(CloudEvent.Parse(BinaryData.FromBytes(bytes))!, direct);
    }

    [Theory]
    [MemberData(nameof(FallbackInputs))]
    public void Everything_else_goes_to_Azure_Core_with_its_result_or_its_error(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);

        Assert.Null(CloudEventJson.TryParseDirect(bytes));
        CloudEvent? expected;
        try
        {
            expected = CloudEvent.Parse(BinaryData.FromBytes(bytes));
        }
        catch (Exception ex)
        {
            var error = Assert.Throws<MalformedCloudEventException>(() => CloudEventJson.Parse(bytes));
            Assert.Equal(ex.Message, error.Problem);
            return;
        }

        if (expected is null || string.IsNullOrWhiteSpace(expected.Id))
        {
            var error = Assert.Throws<MalformedCloudEventException>(() => CloudEventJson.Parse(bytes));
            Assert.Equal(expected is null ? "the body is empty or null." : "'id' is required.", error.Problem);
        }
        else
        {
            AssertSame(expected, CloudEventJson.Parse(bytes));
        }
    }

    [Fact]
    public void A_missing_time_is_the_time_of_reading_on_both_paths()
    {
        var bytes = """{"specversion":"1.0","type":"t","source":"s","id":"x","data":{}}"""u8.ToArray();
        var before = DateTimeOffset.UtcNow;

        var direct = CloudEventJson.TryParseDirect(bytes)!;
        var azure = CloudEvent.Parse(BinaryData.FromBytes(bytes))!;

        Assert.InRange(direct.Time!.Value, before, DateTimeOffset.UtcNow);
        Assert.InRange(azure.Time!.Value, before, DateTimeOffset.UtcNow);
    }

    [Fact]
    public void Platform_event_ids_are_version_7_uuids_of_the_events_time_so_they_sort_by_time()
    {
        var events = Enumerable.Range(0, 50).Select(i => CloudEventJson.Create("/pipelines", "pipeline.step.result", new { I = i })).ToList();

        Assert.Equal(50, events.Select(e => e.Id).Distinct().Count());
        foreach (var cloudEvent in events)
        {
            var id = Guid.Parse(cloudEvent.Id);
            Assert.Equal(7, id.Version);
            // The first 48 bits (the first 12 hex digits of the text) are the Unix time in milliseconds.
            Assert.Equal(cloudEvent.Time!.Value.ToUnixTimeMilliseconds(), Convert.ToInt64(cloudEvent.Id.Replace("-", "", StringComparison.Ordinal)[..12], 16));
        }

        // Events of different milliseconds sort by time as text (within one millisecond the rest is random).
        var byTime = events.GroupBy(e => e.Time!.Value.ToUnixTimeMilliseconds()).OrderBy(g => g.Key).Select(g => g.First().Id).ToList();
        Assert.Equal(byTime.Order(StringComparer.Ordinal), byTime);
    }

    [Fact]
    public void The_direct_writer_writes_Azure_Cores_bytes_for_platform_events()
    {
        var created = CloudEventJson.Create("/webhooks/github", "scm.push", new { Repository = "retail/checkout", Commits = new[] { new { Id = "a", Message = "Fix \"basket\" ✓" } } }, subject: "retail/checkout");
        created.ExtensionAttributes["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        created.ExtensionAttributes["n"] = 7;
        created.ExtensionAttributes["flag"] = true;
        created.DataSchema = "https://example.com/schema";
        var parsed = CloudEventJson.Parse(CloudEventJson.Serialize(created));

        foreach (var cloudEvent in new[] { created, parsed, new CloudEvent("s", "t", BinaryData.FromString("[1,2]"), null, CloudEventDataFormat.Json) { Time = null } })
        {
            var direct = CloudEventJson.TrySerializeDirect(cloudEvent);
            Assert.NotNull(direct);
            Assert.Equal(Encoding.UTF8.GetString(JsonSerializer.SerializeToUtf8Bytes(cloudEvent)), Encoding.UTF8.GetString(direct));
        }
    }

    [Fact]
    public void Binary_or_absent_data_and_other_extension_types_go_to_the_serializer()
    {
        var binary = new CloudEvent("s", "t", BinaryData.FromBytes([1, 2, 3]), "application/octet-stream", CloudEventDataFormat.Binary);
        var noData = new CloudEvent("s", "t", (BinaryData?)null, null);
        var uriExtension = new CloudEvent("s", "t", BinaryData.FromString("{}"), "application/json", CloudEventDataFormat.Json);
        uriExtension.ExtensionAttributes["link"] = new Uri("https://example.com/x");
        var notJson = new CloudEvent("s", "t", BinaryData.FromString("plain text"), "text/plain", CloudEventDataFormat.Json);

        foreach (var cloudEvent in new[] { binary, noData, uriExtension })
        {
            Assert.Null(CloudEventJson.TrySerializeDirect(cloudEvent));
            Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(cloudEvent), CloudEventJson.Serialize(cloudEvent));
        }

        Assert.Null(CloudEventJson.TrySerializeDirect(notJson));
        Assert.ThrowsAny<Exception>(() => JsonSerializer.SerializeToUtf8Bytes(notJson));
    }

    [Fact]
    public void Random_events_read_and_write_the_same_on_both_paths()
    {
        var random = new Random(20261130);
        for (var i = 0; i < 500; i++)
        {
            var cloudEvent = new CloudEvent(RandomText(random), RandomText(random) + "x", BinaryData.FromString(RandomJson(random, 0) is var json && json != "null" ? json : "{}"), random.Next(3) == 0 ? null : "application/json", CloudEventDataFormat.Json)
            {
                Id = RandomText(random) + "i",
                Subject = random.Next(2) == 0 ? null : RandomText(random),
                DataSchema = random.Next(4) == 0 ? "https://example.com/" + i.ToString(CultureInfo.InvariantCulture) : null,
                Time = random.Next(5) == 0 ? null : Time.AddTicks(random.NextInt64(-1_000_000_000_000, 1_000_000_000_000)),
            };
            for (var e = random.Next(4); e > 0; e--)
            {
                cloudEvent.ExtensionAttributes["ext" + e.ToString(CultureInfo.InvariantCulture)] = random.Next(3) switch
                {
                    0 => RandomText(random),
                    1 => random.Next(2) == 0,
                    _ => random.Next(int.MinValue, int.MaxValue),
                };
            }

            var azureBytes = JsonSerializer.SerializeToUtf8Bytes(cloudEvent);
            var directBytes = CloudEventJson.TrySerializeDirect(cloudEvent);
            Assert.NotNull(directBytes);
            Assert.Equal(Encoding.UTF8.GetString(azureBytes), Encoding.UTF8.GetString(directBytes));

            if (cloudEvent.Time is null)
            {
                continue; // Both readers give a missing time "now"; compared above.
            }

            var direct = CloudEventJson.TryParseDirect(azureBytes);
            Assert.NotNull(direct);
            AssertSame(CloudEvent.Parse(BinaryData.FromBytes(azureBytes))!, direct);
        }
    }

    private static void AssertSame(CloudEvent expected, CloudEvent actual)
    {
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.Type, actual.Type);
        Assert.Equal(expected.Subject, actual.Subject);
        Assert.Equal(expected.DataSchema, actual.DataSchema);
        Assert.Equal(expected.DataContentType, actual.DataContentType);
        if (expected.Time is { } time && expected.Time.Value < DateTimeOffset.UtcNow.AddMinutes(-1))
        {
            Assert.Equal(time, actual.Time);
            Assert.Equal(time.Offset, actual.Time!.Value.Offset);
        }
        else
        {
            // Both took "now" for a missing time (A_missing_time_is_the_time_of_reading_on_both_paths); align it for the bytes.
            actual.Time = expected.Time;
        }

        // Azure.Core rewrites data through a JsonDocument (compact, its own escapes); the direct reader keeps the bytes
        // as published. The same JSON value either way.
        Assert.Equal(expected.Data is null, actual.Data is null);
        Assert.True(expected.Data is null || expected.Data.ToMemory().Span.SequenceEqual(actual.Data!.ToMemory().Span) || JsonNode.DeepEquals(JsonNode.Parse(expected.Data.ToString()), JsonNode.Parse(actual.Data!.ToString())), $"{expected.Data} vs {actual.Data}");
        Assert.Equal(
            expected.ExtensionAttributes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)),
            actual.ExtensionAttributes.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => (kv.Key, kv.Value)));

        // And the event writes the same event whichever reader made it.
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(JsonSerializer.SerializeToUtf8Bytes(expected)), JsonNode.Parse(CloudEventJson.Serialize(actual))));
    }

    private static string RandomText(Random random)
    {
        const string alphabet = "abcXYZ019 -_/.:\"\\\u00e9\u4e2d\u0001\t<>&'+";
        var chars = new char[random.Next(0, 12)];
        for (var i = 0; i < chars.Length; i++)
        {
            chars[i] = alphabet[random.Next(alphabet.Length)];
        }

        return new string(chars) + (random.Next(8) == 0 ? "\U0001F600" : string.Empty);
    }

    private static string RandomJson(Random random, int depth)
    {
        switch (depth > 3 ? random.Next(4) : random.Next(6))
        {
            case 0: return JsonSerializer.Serialize(RandomText(random));
            case 1: return random.Next(-1000, 1000).ToString(CultureInfo.InvariantCulture);
            case 2: return random.Next(2) == 0 ? "true" : "null";
            case 3: return (random.NextDouble() * 1e6).ToString("R", CultureInfo.InvariantCulture);
            case 4:
                return "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, depth + 1))) + "]";
            default:
                return "{" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(k => JsonSerializer.Serialize("k" + k.ToString(CultureInfo.InvariantCulture) + RandomText(random)) + ":" + RandomJson(random, depth + 1))) + "}";
        }
    }
}
