using System.Text.Encodings.Web;
using System.Text.Json;

namespace Serverless.Pipelines.Expressions;

/// <summary>
/// A JSON document whose strings (values and member names) are templates. Templates are rendered inside the parsed
/// value tree and each result written back as a JSON string, so a value such as <c>x", "admin": true</c> stays one
/// string: nothing a template renders is ever spliced into JSON text.
/// </summary>
public static class JsonTemplate
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Whether <paramref name="text"/> is a JSON object or array (the shape an inline body mapping or list is stored in).</summary>
    public static bool IsJsonDocument(string? text)
    {
        if (string.IsNullOrWhiteSpace(text) || text.TrimStart()[0] is not ('{' or '['))
        {
            return false;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind is JsonValueKind.Object or JsonValueKind.Array;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Renders every string of <paramref name="json"/> (a JSON object or array) and writes the tree back as JSON.</summary>
    /// <exception cref="JsonException"><paramref name="json"/> is not JSON.</exception>
    public static string Render(string json, ExpressionContext context)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(context);
        using var document = JsonDocument.Parse(json);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
        {
            Write(writer, document.RootElement, text => TemplateString.Render(text, context));
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>Every string of the document with its path below the document (<c>text</c>, <c>items[0].name</c>), member names included.</summary>
    public static IEnumerable<(string Path, string Text)> Strings(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        using var document = JsonDocument.Parse(json);
        var found = new List<(string, string)>();
        Collect(document.RootElement, string.Empty, found);
        return found;
    }

    private static void Write(Utf8JsonWriter writer, JsonElement element, Func<string, string> render)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject())
                {
                    writer.WritePropertyName(render(property.Name));
                    Write(writer, property.Value, render);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    Write(writer, item, render);
                }

                writer.WriteEndArray();
                break;
            case JsonValueKind.String:
                writer.WriteStringValue(render(element.GetString()!));
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static void Collect(JsonElement element, string path, List<(string, string)> found)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var child = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                    found.Add((child, property.Name));
                    Collect(property.Value, child, found);
                }

                break;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Collect(item, $"{path}[{index++}]", found);
                }

                break;
            case JsonValueKind.String:
                found.Add((path, element.GetString()!));
                break;
        }
    }
}
