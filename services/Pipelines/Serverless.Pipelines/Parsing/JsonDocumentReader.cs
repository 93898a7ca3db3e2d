using System.Text;
using System.Text.Json;

namespace Serverless.Pipelines.Parsing;

/// <summary>
/// Reads JSON into a <see cref="DocNode"/> tree with <see cref="Utf8JsonReader"/>, which (unlike JsonDocument)
/// exposes token offsets, so JSON problems carry line numbers like YAML ones.
/// </summary>
internal static class JsonDocumentReader
{
    public static DocNode Read(string json)
    {
        var bytes = Encoding.UTF8.GetBytes(json);
        var lineStarts = new List<int> { 0 };
        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] == (byte)'\n')
            {
                lineStarts.Add(i + 1);
            }
        }

        var reader = new Utf8JsonReader(bytes, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        try
        {
            if (!reader.Read())
            {
                return new DocScalar(null, ScalarKind.Null, 1, 1);
            }

            var root = ReadValue(ref reader, lineStarts);
            if (reader.Read())
            {
                var (line, column) = Position(reader.TokenStartIndex, lineStarts);
                throw new DocumentSyntaxException("unexpected content after the JSON value", line, column);
            }

            return root;
        }
        catch (JsonException ex)
        {
            throw new DocumentSyntaxException(ex.Message, (int)(ex.LineNumber ?? 0) + 1, (int)(ex.BytePositionInLine ?? 0) + 1);
        }
    }

    private static DocNode ReadValue(ref Utf8JsonReader reader, List<int> lineStarts)
    {
        var (line, column) = Position(reader.TokenStartIndex, lineStarts);
        switch (reader.TokenType)
        {
            case JsonTokenType.StartObject:
                var entries = new List<KeyValuePair<string, DocNode>>();
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = reader.GetString()!;
                    if (entries.Any(e => string.Equals(e.Key, name, StringComparison.Ordinal)))
                    {
                        var (keyLine, keyColumn) = Position(reader.TokenStartIndex, lineStarts);
                        throw new DocumentSyntaxException($"duplicate key '{name}'", keyLine, keyColumn);
                    }

                    reader.Read();
                    entries.Add(new(name, ReadValue(ref reader, lineStarts)));
                }

                return new DocMap(entries, line, column);
            case JsonTokenType.StartArray:
                var items = new List<DocNode>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    items.Add(ReadValue(ref reader, lineStarts));
                }

                return new DocList(items, line, column);
            case JsonTokenType.String:
                return new DocScalar(reader.GetString(), ScalarKind.Text, line, column);
            case JsonTokenType.Number:
                return new DocScalar(Encoding.UTF8.GetString(reader.ValueSpan), ScalarKind.Number, line, column);
            case JsonTokenType.True:
                return new DocScalar("true", ScalarKind.Boolean, line, column);
            case JsonTokenType.False:
                return new DocScalar("false", ScalarKind.Boolean, line, column);
            default:
                return new DocScalar(null, ScalarKind.Null, line, column);
        }
    }

    private static (int Line, int Column) Position(long offset, List<int> lineStarts)
    {
        var index = lineStarts.BinarySearch((int)offset);
        var line = index >= 0 ? index : ~index - 1;
        return (line + 1, (int)offset - lineStarts[line] + 1);
    }
}
