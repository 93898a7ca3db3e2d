namespace Serverless.Pipelines.Definitions;

/// <summary>Calls an HTTP endpoint. URL, headers and body are templates. Without <see cref="ExpectStatus"/> any 2xx succeeds.</summary>
public sealed record HttpStep : StepSpec
{
    public string Method { get; init; } = "GET";

    public required string Url { get; init; }

    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// The body text (a template). A mapping or list written inline in the document is stored as its JSON text; a
    /// JSON object or array body sent as JSON has its strings rendered inside the value tree
    /// (<see cref="Expressions.JsonTemplate"/>), never spliced into the text.
    /// </summary>
    public string? Body { get; init; }

    public int? ExpectStatus { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "http";

    public override IEnumerable<(string Path, string Template)> Templates()
    {
        yield return ("url", Url);
        foreach (var header in Headers)
        {
            yield return ($"headers.{header.Key}", header.Value);
        }

        if (Expressions.JsonTemplate.IsJsonDocument(Body))
        {
            foreach (var (path, text) in Expressions.JsonTemplate.Strings(Body!))
            {
                yield return (path.StartsWith('[') ? $"body{path}" : $"body.{path}", text);
            }
        }
        else if (Body is not null)
        {
            yield return ("body", Body);
        }
    }
}
