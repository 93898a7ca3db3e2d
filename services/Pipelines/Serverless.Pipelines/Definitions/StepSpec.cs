using System.Text.Json.Serialization;

namespace Serverless.Pipelines.Definitions;

/// <summary>
/// One node of the pipeline DAG. <c>kind</c> selects the record (temporalio samples' DSL style: a record tree
/// rather than a bag of optional fields), the common fields live here.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(ScriptStep), "script")]
[JsonDerivedType(typeof(HttpStep), "http")]
[JsonDerivedType(typeof(ApprovalStep), "approval")]
[JsonDerivedType(typeof(DeployStep), "deploy")]
[JsonDerivedType(typeof(PublishStep), "publish")]
[JsonDerivedType(typeof(WaitStep), "wait")]
public abstract record StepSpec
{
    public required string Id { get; init; }

    public IReadOnlyList<string> Needs { get; init; } = [];

    /// <summary>An expression; null means <c>success()</c>, as in GitHub Actions.</summary>
    public string? When { get; init; }

    /// <summary>How long one attempt may run; for an approval step, how long to wait for votes.</summary>
    public TimeSpan? Timeout { get; init; }

    public RetryPolicy? Retries { get; init; }

    /// <summary>The names of the outputs the step promises; later steps read them as <c>steps.&lt;id&gt;.outputs.&lt;name&gt;</c>.</summary>
    public IReadOnlyList<string> Outputs { get; init; } = [];

    /// <summary>The step's kind as written in documents (the JSON discriminator).</summary>
    [JsonIgnore]
    public abstract string Kind { get; }

    /// <summary>Template strings of the step (without the <c>when</c>), with their document path relative to the step, for validation.</summary>
    public virtual IEnumerable<(string Path, string Template)> Templates() => [];
}
