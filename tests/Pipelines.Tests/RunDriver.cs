namespace Pipelines.Tests;

/// <summary>Feeds events to a <see cref="RunStateMachine"/> and keeps the latest state and commands; time is explicit, nothing sleeps.</summary>
internal sealed class RunDriver
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public RunDriver(PipelineDefinition definition, IReadOnlyDictionary<string, object?>? parameters = null)
    {
        Machine = new RunStateMachine(definition);
        State = Machine.Create("run-1", parameters ?? new Dictionary<string, object?>(), new Dictionary<string, object?> { ["ref"] = "refs/heads/main" }, T0);
    }

    public RunStateMachine Machine { get; }

    public RunState State { get; private set; }

    public DateTimeOffset Now { get; set; } = T0;

    public RunTransition Last { get; private set; } = null!;

    public IReadOnlyList<RunCommand> Commands => Last.Commands;

    public RunTransition Apply(RunEvent runEvent)
    {
        Last = Machine.Apply(State, runEvent);
        State = Last.State;

        // Every test driving the machine also checks it publishes only declared types: the host declares
        // RunEventTypes on its topics, and outbound webhooks refuse filters for types nothing declares.
        foreach (var published in Last.Commands.OfType<PublishEvent>())
        {
            Assert.Contains(published.Type, RunEventTypes.All);
        }

        return Last;
    }

    public RunTransition Start() => Apply(new RunStarted(Now));

    public RunTransition Started(string step, int attempt = 1) => Apply(new StepStarted(step, attempt, Now));

    public RunTransition Succeed(string step, int attempt = 1, IReadOnlyDictionary<string, string>? outputs = null) =>
        Apply(new StepCompleted(step, attempt, StepOutcome.Succeeded, Now) { Outputs = outputs ?? new Dictionary<string, string>() });

    public RunTransition Fail(string step, int attempt = 1) => Apply(new StepCompleted(step, attempt, StepOutcome.Failed, Now) { Error = "exit code 1" });

    /// <summary>Starts and succeeds a step in one go.</summary>
    public RunTransition Pass(string step, int attempt = 1, IReadOnlyDictionary<string, string>? outputs = null)
    {
        Started(step, attempt);
        return Succeed(step, attempt, outputs);
    }

    public RunTransition Crash(string step, int attempt = 1)
    {
        Started(step, attempt);
        return Fail(step, attempt);
    }

    public StepStatus Status(string step) => State.Steps[step].Status;

    public IEnumerable<string> Dispatched => Commands.OfType<DispatchStep>().Select(d => d.StepId);
}
