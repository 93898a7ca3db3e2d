namespace Serverless.Pipelines.Expressions;

/// <summary>What an expression sees of another step: <c>steps.&lt;id&gt;.status</c> (lower case, e.g. "succeeded") and <c>steps.&lt;id&gt;.outputs.&lt;name&gt;</c>.</summary>
public sealed record StepContext(string Status, IReadOnlyDictionary<string, string> Outputs);
