using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Serverless.Pipelines.Parsing;

/// <summary>
/// Reads YAML with YamlDotNet's representation model (a generic node tree with marks) into a <see cref="DocNode"/>
/// tree. Plain scalars are typed by the YAML 1.2 core schema (true/false, numbers, null/~); quoted ones are strings.
/// </summary>
internal static partial class YamlDocumentReader
{
    private const int MaxNodes = 100_000;
    private const int MaxDepth = 64;

    public static DocNode Read(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            // Nesting is checked on the event stream first: loading the node tree recurses once per level, and a 200 KB
            // body of '[' would overflow the stack and take the whole process down before the depth budget below is seen.
            CheckNesting(yaml);
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException ex)
        {
            throw new DocumentSyntaxException(ex.Message, (int)ex.Start.Line, (int)ex.Start.Column);
        }

        if (stream.Documents.Count == 0)
        {
            return new DocScalar(null, ScalarKind.Null, 1, 1);
        }

        if (stream.Documents.Count > 1)
        {
            var second = stream.Documents[1].RootNode.Start;
            throw new DocumentSyntaxException("a pipeline is one YAML document; found a second one", (int)second.Line, (int)second.Column);
        }

        var budget = new Budget();
        return Convert(stream.Documents[0].RootNode, budget, 0);
    }

    private static void CheckNesting(string yaml)
    {
        var parser = new Parser(new StringReader(yaml));
        var depth = 0;
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case YamlDotNet.Core.Events.MappingStart or YamlDotNet.Core.Events.SequenceStart when ++depth > MaxDepth:
                    throw new DocumentSyntaxException($"document too deeply nested (at most {MaxDepth} levels)", (int)parser.Current.Start.Line, (int)parser.Current.Start.Column);
                case YamlDotNet.Core.Events.MappingEnd or YamlDotNet.Core.Events.SequenceEnd:
                    depth--;
                    break;
            }
        }
    }

    private static DocNode Convert(YamlNode node, Budget budget, int depth)
    {
        var line = (int)node.Start.Line;
        var column = (int)node.Start.Column;

        // Aliases share nodes, so a small document can expand to billions of nodes ("billion laughs"); a
        // budget on converted nodes and on depth keeps a hostile document from exhausting memory or stack.
        if (++budget.Nodes > MaxNodes || depth > MaxDepth)
        {
            throw new DocumentSyntaxException($"document too large or too deeply nested (at most {MaxNodes} values, {MaxDepth} levels)", line, column);
        }

        switch (node)
        {
            case YamlMappingNode map:
                var entries = new List<KeyValuePair<string, DocNode>>();
                foreach (var (key, value) in map.Children)
                {
                    if (key is not YamlScalarNode { Value: { } name })
                    {
                        throw new DocumentSyntaxException("mapping keys must be plain strings", (int)key.Start.Line, (int)key.Start.Column);
                    }

                    if (entries.Any(e => string.Equals(e.Key, name, StringComparison.Ordinal)))
                    {
                        throw new DocumentSyntaxException($"duplicate key '{name}'", (int)key.Start.Line, (int)key.Start.Column);
                    }

                    entries.Add(new(name, Convert(value, budget, depth + 1)));
                }

                return new DocMap(entries, line, column);
            case YamlSequenceNode sequence:
                return new DocList(sequence.Children.Select(child => Convert(child, budget, depth + 1)).ToList(), line, column);
            case YamlScalarNode scalar:
                return ConvertScalar(scalar, line, column);
            default:
                throw new DocumentSyntaxException($"unsupported YAML node {node.NodeType}", line, column);
        }
    }

    private static DocScalar ConvertScalar(YamlScalarNode scalar, int line, int column)
    {
        var text = scalar.Value;
        if (scalar.Style != ScalarStyle.Plain)
        {
            return new DocScalar(text ?? string.Empty, ScalarKind.Text, line, column);
        }

        if (text is null or "" or "~" or "null" or "Null" or "NULL")
        {
            return new DocScalar(null, ScalarKind.Null, line, column);
        }

        if (text is "true" or "True" or "TRUE" or "false" or "False" or "FALSE")
        {
            return new DocScalar(text.ToLowerInvariant(), ScalarKind.Boolean, line, column);
        }

        if (NumberPattern().IsMatch(text) && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
        {
            return new DocScalar(text, ScalarKind.Number, line, column);
        }

        return new DocScalar(text, ScalarKind.Text, line, column);
    }

    private sealed class Budget
    {
        public int Nodes { get; set; }
    }

    [GeneratedRegex(@"^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();
}
