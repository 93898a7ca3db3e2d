namespace Serverless.Pipelines.Parsing;

/// <summary>The document is not well-formed YAML or JSON; the position is 1-based.</summary>
internal sealed class DocumentSyntaxException(string message, int line, int column) : Exception(message)
{
    public int Line { get; } = line;

    public int Column { get; } = column;
}
