namespace Serverless.Pipelines.Runs;

/// <summary>
/// The result of applying an event: the new state and the commands to carry out. <see cref="IgnoredBecause"/>
/// says why an event changed nothing (a duplicate completion, a vote by someone who is not an approver).
/// </summary>
public sealed record RunTransition(RunState State, IReadOnlyList<RunCommand> Commands)
{
    public string? IgnoredBecause { get; init; }

    public bool Ignored => IgnoredBecause is not null;
}
