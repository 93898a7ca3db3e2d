using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Azure.Messaging;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// The structured JSON form (application/cloudevents+json) used on every wire and in every table.
/// </summary>
/// <remarks>
/// Every event is written once and read several times (the outbox relay, then each subscription), so both directions
/// have a direct path for the events the platform itself produces: string attributes, JSON <c>data</c>, string, boolean
/// and 32-bit integer extensions. Parsing reads the attributes with a <see cref="Utf8JsonReader"/> and keeps
/// <c>data</c> as a slice of the input (Azure.Core's <see cref="CloudEvent.Parse(BinaryData, bool)"/> builds a
/// <see cref="JsonDocument"/> and copies <c>data</c> out of it); writing copies <c>data</c> through as raw JSON, checked
/// by the writer, instead of parsing it into a document and writing that. Anything else (<c>data_base64</c>, other
/// extension types, a null or missing required attribute, a duplicate attribute) goes through Azure.Core, so results
/// and error messages are Azure.Core's; the tests hold both paths to the same results.
/// </remarks>
public static class CloudEventJson
{
    public const string MediaType = "application/cloudevents+json";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] Serialize(CloudEvent cloudEvent)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        return TrySerializeDirect(cloudEvent) ?? JsonSerializer.SerializeToUtf8Bytes(cloudEvent);
    }

    /// <summary>Parses one structured CloudEvent 1.0, throwing <see cref="MalformedCloudEventException"/> on any problem.</summary>
    public static CloudEvent Parse(ReadOnlyMemory<byte> json)
    {
        CloudEvent? parsed;
        try
        {
            parsed = TryParseDirect(json) ?? CloudEvent.Parse(BinaryData.FromBytes(json));
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException or InvalidOperationException or FormatException)
        {
            throw new MalformedCloudEventException(ex.Message, ex);
        }

        if (parsed is null)
        {
            throw new MalformedCloudEventException("the body is empty or null.");
        }

        if (string.IsNullOrWhiteSpace(parsed.Id))
        {
            throw new MalformedCloudEventException("'id' is required.");
        }

        return parsed;
    }

    /// <summary>
    /// A new CloudEvent with JSON data (camelCase property names, as every platform event's payload is documented),
    /// the given subject, and the current trace context attached. Its id is a version 7 UUID of its time, so ids
    /// sort by time: the deduplication markers consumers write (<c>pubsub||processed||{subscription}||{event id}</c>)
    /// then land side by side at the end of the store's key index instead of on a random index page each.
    /// </summary>
    public static CloudEvent Create<T>(string source, string type, T data, string? subject = null)
    {
        var json = BinaryData.FromObjectAsJson(data, JsonSerializerOptions.Web);
        var now = DateTimeOffset.UtcNow;
        var cloudEvent = new CloudEvent(source, type, json, "application/json", CloudEventDataFormat.Json) { Id = Guid.CreateVersion7(now).ToString(), Subject = subject, Time = now };
        EventTracing.Inject(cloudEvent);
        return cloudEvent;
    }

    /// <summary>
    /// The direct parse, or null when the input needs Azure.Core's (which then gives the result or the error). Data is
    /// a slice of <paramref name="json"/>, so the caller must not reuse the buffer while the event lives.
    /// </summary>
    internal static CloudEvent? TryParseDirect(ReadOnlyMemory<byte> json)
    {
        string? id = null, source = null, type = null, specVersion = null, subject = null, dataSchema = null, dataContentType = null;
        DateTimeOffset? time = null;
        ReadOnlyMemory<byte> data = default;
        var hasData = false;
        List<KeyValuePair<string, object>>? extensions = null;
        var seen = 0;
        try
        {
            var reader = new Utf8JsonReader(json.Span, new JsonReaderOptions { MaxDepth = 64 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject)
                {
                    // Trailing content after the object: let Azure.Core decide (and word the error).
                    return reader.Read() ? null : Build();
                }

                var attribute = Attribute(ref reader);
                var name = attribute == Attr.Extension ? reader.GetString()! : null;
                if (!reader.Read())
                {
                    return null;
                }

                if (attribute == Attr.Data)
                {
                    if (reader.TokenType == JsonTokenType.Null || (seen & (1 << (int)Attr.Data)) != 0)
                    {
                        return null;
                    }

                    var start = (int)reader.TokenStartIndex;
                    reader.Skip();
                    var end = (int)reader.BytesConsumed;
                    data = json[start..end];
                    hasData = true;
                    seen |= 1 << (int)Attr.Data;
                    continue;
                }

                if (attribute == Attr.Extension)
                {
                    object value;
                    switch (reader.TokenType)
                    {
                        case JsonTokenType.String:
                            value = reader.GetString()!;
                            break;
                        case JsonTokenType.True or JsonTokenType.False:
                            value = reader.GetBoolean();
                            break;
                        case JsonTokenType.Number when reader.TryGetInt32(out var number):
                            value = number;
                            break;
                        default:
                            return null;
                    }

                    (extensions ??= []).Add(new(name!, value));
                    continue;
                }

                if (reader.TokenType != JsonTokenType.String || (seen & (1 << (int)attribute)) != 0 || attribute == Attr.DataBase64)
                {
                    return null;
                }

                seen |= 1 << (int)attribute;
                switch (attribute)
                {
                    case Attr.Id: id = reader.GetString(); break;
                    case Attr.Source: source = reader.GetString(); break;
                    case Attr.Type: type = reader.GetString(); break;
                    case Attr.SpecVersion: specVersion = reader.GetString(); break;
                    case Attr.Subject: subject = reader.GetString(); break;
                    case Attr.DataSchema: dataSchema = reader.GetString(); break;
                    case Attr.DataContentType: dataContentType = reader.GetString(); break;
                    case Attr.Time:
                        if (!reader.TryGetDateTimeOffset(out var parsedTime))
                        {
                            return null;
                        }

                        time = parsedTime;
                        break;
                }
            }

            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (ArgumentException)
        {
            // An extension name or value the attribute dictionary refuses.
            return null;
        }

        CloudEvent? Build()
        {
            if (specVersion != "1.0" || string.IsNullOrEmpty(id) || source is null || type is null || (extensions is not null && HasDuplicate(extensions)))
            {
                return null;
            }

            var cloudEvent = new CloudEvent(source, type, hasData ? new BinaryData(data) : null, dataContentType, CloudEventDataFormat.Json)
            {
                Id = id,
                Subject = subject,
                DataSchema = dataSchema,
            };
            if (time is { } t)
            {
                cloudEvent.Time = t;
            }

            if (extensions is not null)
            {
                foreach (var (name, value) in extensions)
                {
                    cloudEvent.ExtensionAttributes.Add(name, value);
                }
            }

            return cloudEvent;
        }
    }

    /// <summary>The direct write, or null when the event needs the serializer (binary or null data, other extension types).</summary>
    internal static byte[]? TrySerializeDirect(CloudEvent cloudEvent)
    {
        if (cloudEvent.Data is not { } data || !IsJsonData(cloudEvent))
        {
            return null;
        }

        foreach (var value in cloudEvent.ExtensionAttributes.Values)
        {
            if (value is not (string or bool or int))
            {
                return null;
            }
        }

        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        {
            // Azure.Core's order, so both paths write the same bytes for the same event.
            writer.WriteStartObject();
            writer.WriteString("id"u8, cloudEvent.Id);
            writer.WriteString("source"u8, cloudEvent.Source);
            writer.WriteString("type"u8, cloudEvent.Type);
            writer.WritePropertyName("data"u8);
            try
            {
                writer.WriteRawValue(data.ToMemory().Span);
            }
            catch (JsonException)
            {
                // Not JSON after all: the serializer reports it its own way.
                return null;
            }

            if (cloudEvent.Time is { } time)
            {
                writer.WriteString("time"u8, time);
            }

            writer.WriteString("specversion"u8, "1.0"u8);
            if (cloudEvent.DataSchema is { } schema)
            {
                writer.WriteString("dataschema"u8, schema);
            }

            if (cloudEvent.DataContentType is { } contentType)
            {
                writer.WriteString("datacontenttype"u8, contentType);
            }

            if (cloudEvent.Subject is { } subject)
            {
                writer.WriteString("subject"u8, subject);
            }

            foreach (var (name, value) in cloudEvent.ExtensionAttributes)
            {
                switch (value)
                {
                    case string text: writer.WriteString(name, text); break;
                    case bool flag: writer.WriteBoolean(name, flag); break;
                    case int number: writer.WriteNumber(name, number); break;
                }
            }

            writer.WriteEndObject();
            writer.Flush();
        }

        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 1024 * 1024)
        {
            // One huge event must not pin its buffer to the thread.
            t_buffer = null;
            t_writer = null;
        }

        return bytes;
    }

    /// <summary>Whether the event's data is JSON (written as <c>data</c>), not binary (<c>data_base64</c>).</summary>
    private static bool IsJsonData(CloudEvent cloudEvent)
    {
        try
        {
            return DataFormat(cloudEvent) == CloudEventDataFormat.Json;
        }
        catch (MissingMethodException)
        {
            // A future Azure.Core without the member: always the serializer.
            return false;
        }
    }

    /// <summary>Azure.Core keeps the format an event's data was given in internal; the serializer uses the same member.</summary>
    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "get_DataFormat")]
    private static extern CloudEventDataFormat DataFormat(CloudEvent cloudEvent);

    private static bool HasDuplicate(List<KeyValuePair<string, object>> extensions)
    {
        for (var i = 1; i < extensions.Count; i++)
        {
            for (var j = 0; j < i; j++)
            {
                if (string.Equals(extensions[i].Key, extensions[j].Key, StringComparison.Ordinal))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private enum Attr
    {
        Id,
        Source,
        Type,
        SpecVersion,
        Subject,
        DataSchema,
        DataContentType,
        Time,
        Data,
        DataBase64,
        Extension,
    }

    /// <summary>The longest escaped property name that can still spell an attribute (15 bytes, each escaped as \\uXXXX).</summary>
    private const int MaxEscapedAttributeName = 15 * 6;

    private static Attr Attribute(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            return Lookup(reader.ValueSpan);
        }

        // Compared unescaped, with the same table; a longer escaped name is no attribute.
        if (reader.ValueSpan.Length > MaxEscapedAttributeName)
        {
            return Attr.Extension;
        }

        Span<byte> unescaped = stackalloc byte[MaxEscapedAttributeName];
        return Lookup(unescaped[..reader.CopyString(unescaped)]);
    }

    private static Attr Lookup(ReadOnlySpan<byte> name) => name.Length switch
    {
        2 when name.SequenceEqual("id"u8) => Attr.Id,
        4 when name.SequenceEqual("type"u8) => Attr.Type,
        4 when name.SequenceEqual("time"u8) => Attr.Time,
        4 when name.SequenceEqual("data"u8) => Attr.Data,
        6 when name.SequenceEqual("source"u8) => Attr.Source,
        7 when name.SequenceEqual("subject"u8) => Attr.Subject,
        10 when name.SequenceEqual("dataschema"u8) => Attr.DataSchema,
        11 when name.SequenceEqual("specversion"u8) => Attr.SpecVersion,
        11 when name.SequenceEqual("data_base64"u8) => Attr.DataBase64,
        15 when name.SequenceEqual("datacontenttype"u8) => Attr.DataContentType,
        _ => Attr.Extension,
    };
}
