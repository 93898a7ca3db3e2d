namespace Serverless.Pipelines.Validation;

/// <summary>
/// One thing wrong with a pipeline document, at <see cref="Path"/> (e.g. <c>steps[3].needs[0]</c>); the service
/// turns the list into an RFC 9457 400. <see cref="Line"/> and <see cref="Column"/> point into the source
/// document when it is known (1-based).
/// </summary>
public sealed record PipelineProblem(string Path, string Message)
{
    public int? Line { get; init; }

    public int? Column { get; init; }

    public override string ToString() => Line is { } line ? $"{Path}: {Message} (line {line})" : $"{Path}: {Message}";
}
