namespace Serverless.Pipelines.Definitions;

/// <summary>Publishes an event of <see cref="Type"/> to <see cref="Topic"/>; string values in <see cref="Data"/> are templates.</summary>
public sealed record PublishStep : StepSpec
{
    public required string Topic { get; init; }

    public string? Type { get; init; }

    public IReadOnlyDictionary<string, string> Data { get; init; } = new Dictionary<string, string>();

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "publish";

    public override IEnumerable<(string Path, string Template)> Templates() => Data.Select(d => ($"data.{d.Key}", d.Value));
}
