namespace Serverless.Pipelines.Parsing;

/// <summary>
/// The format-neutral tree YAML and JSON are both read into, with source positions, so one mapper builds the
/// model from either and its problems carry line numbers. Line 0 means unknown.
/// </summary>
internal abstract record DocNode(int Line, int Column)
{
    public abstract string Describe { get; }
}

internal sealed record DocMap(IReadOnlyList<KeyValuePair<string, DocNode>> Entries, int Line, int Column) : DocNode(Line, Column)
{
    public override string Describe => "a mapping";

    public DocNode? this[string key] => Entries.FirstOrDefault(e => string.Equals(e.Key, key, StringComparison.Ordinal)).Value;
}

internal sealed record DocList(IReadOnlyList<DocNode> Items, int Line, int Column) : DocNode(Line, Column)
{
    public override string Describe => "a list";
}


internal sealed record DocScalar(string? Text, ScalarKind Kind, int Line, int Column) : DocNode(Line, Column)
{
    public override string Describe => Kind switch
    {
        ScalarKind.Null => "null",
        ScalarKind.Number => $"the number {Text}",
        ScalarKind.Boolean => $"the boolean {Text}",
        _ => $"the string '{Text}'",
    };
}
