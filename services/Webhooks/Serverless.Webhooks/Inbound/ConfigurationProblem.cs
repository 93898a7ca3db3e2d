namespace Serverless.Webhooks.Inbound;

/// <summary>One thing wrong with a source definition, located by its field path (e.g. "options.header").</summary>
public sealed record ConfigurationProblem(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}
