using System.Text.Json;
using Azure.Messaging;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>The structured JSON form (application/cloudevents+json) used on every wire and in every table.</summary>
public static class CloudEventJson
{
    public const string MediaType = "application/cloudevents+json";

    public static byte[] Serialize(CloudEvent cloudEvent)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        return JsonSerializer.SerializeToUtf8Bytes(cloudEvent);
    }

    /// <summary>Parses one structured CloudEvent 1.0, throwing <see cref="MalformedCloudEventException"/> on any problem.</summary>
    public static CloudEvent Parse(ReadOnlyMemory<byte> json)
    {
        CloudEvent? parsed;
        try
        {
            parsed = CloudEvent.Parse(BinaryData.FromBytes(json));
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
    /// the given subject, and the current trace context attached.
    /// </summary>
    public static CloudEvent Create<T>(string source, string type, T data, string? subject = null)
    {
        var json = BinaryData.FromObjectAsJson(data, JsonSerializerOptions.Web);
        var cloudEvent = new CloudEvent(source, type, json, "application/json", CloudEventDataFormat.Json) { Subject = subject, Time = DateTimeOffset.UtcNow };
        EventTracing.Inject(cloudEvent);
        return cloudEvent;
    }
}
