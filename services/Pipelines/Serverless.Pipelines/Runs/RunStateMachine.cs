using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Graphs;

namespace Serverless.Pipelines.Runs;

/// <summary>
/// Drives a run of one pinned definition: (state, event) → (new state, commands). Pure and deterministic, so
/// the orchestrator can persist state and commands together and replay events after a crash.
/// </summary>
/// <remarks>
/// <para>A step becomes ready once every step it needs is terminal; then its <c>when</c> decides (default
/// <c>success()</c> for normal steps, <c>always()</c> for finally steps; a normal step's condition without a status
/// function is read as <c>success() &amp;&amp; (condition)</c>, as in GitHub Actions). <c>success()</c> is true only when every
/// needed step <em>succeeded</em>: as in GitHub Actions, a skipped need is not success, so skips propagate
/// down a default chain, while <c>always()</c>, <c>failure()</c> or <c>!cancelled()</c> let a step run anyway.
/// A skipped step is terminal, so it never blocks and never looks pending.</para>
/// <para>Finally steps start once every normal step is terminal, also after a cancel. The run fails when any
/// step failed (a finally step included); a cancelled run stays Cancelled whatever its finally steps did.
/// Cancelling cancels every waiting normal step, whatever its condition (<c>always()</c> included): cleanup
/// that must survive a cancel belongs in <c>finally</c>.</para>
/// </remarks>
public sealed class RunStateMachine
{
    /// <summary>Attempts of one step lost one after another (runner died or stopped) before the step fails instead of being dispatched again.</summary>
    public const int MaxLostInARow = 5;

    /// <summary>
    /// How long past its <c>timeout</c> a deploy step's timer waits: the runner stops the deploy at the timeout itself
    /// and rolls back what it changed within this allowance, then reports the timeout. The timer is the backstop for
    /// a runner that does not report.
    /// </summary>
    public static readonly TimeSpan DeployRollbackAllowance = TimeSpan.FromSeconds(30);

    private readonly PipelineDefinition _definition;
    private readonly IReadOnlyDictionary<string, IReadOnlySet<string>> _upstream;
    // Parsed once per step; concurrent because a host may share one machine per pinned definition across runs.
    private readonly ConcurrentDictionary<string, Expr?> _conditions = new(StringComparer.Ordinal);

    private static readonly ConditionalWeakTable<PipelineDefinition, RunStateMachine> Shared = new();

    /// <summary>
    /// The machine of this definition instance, made once while the instance lives: a run's decoded record keeps its
    /// definition, so each report need not work out the graph's closures and parse the conditions again.
    /// </summary>
    public static RunStateMachine For(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        return Shared.GetValue(definition, d => new RunStateMachine(d));
    }

    public RunStateMachine(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        _definition = definition;
        _upstream = StepGraph.UpstreamClosures(definition);
    }

    public PipelineDefinition Definition => _definition;

    /// <summary>A new, queued run with every step waiting. <paramref name="parameters"/> should already hold defaults (see <see cref="RunParameters.Resolve"/>).</summary>
    public RunState Create(string runId, IReadOnlyDictionary<string, object?> parameters, IReadOnlyDictionary<string, object?> trigger, DateTimeOffset at) => new()
    {
        RunId = runId,
        Parameters = parameters,
        Trigger = trigger,
        CreatedAt = at,
        Steps = _definition.AllSteps.ToImmutableDictionary(s => s.Id, s => new StepRun { StepId = s.Id }, StringComparer.Ordinal),
    };

    public RunTransition Apply(RunState state, RunEvent runEvent)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(runEvent);
        var step = new Transition(this, state, runEvent.At);
        var ignored = runEvent switch
        {
            RunStarted => step.Start(),
            StepStarted started => step.StepStarted(started),
            StepCompleted completed => step.StepCompleted(completed),
            StepLost lost => step.StepLost(lost),
            ApprovalDecided decided => step.ApprovalDecided(decided),
            GateOpened opened => step.GateOpened(opened),
            TimerFired fired => step.TimerFired(fired),
            CancelRequested => step.Cancel(),
            // A succeeded run has nothing to retry: its retry set would be the finally steps alone, run again (a second
            // "done" notification). Rerun from a step is the way to run a succeeded step again.
            RetryRequested when state.Status == RunStatus.Succeeded => "the run succeeded; nothing failed or was cancelled, so there is nothing to retry (rerun ?from= a step runs it again)",
            RetryRequested => step.Restart(RetrySet(state), "retried"),
            RerunRequested rerun => _definition.FindStep(rerun.StepId) is null ? $"unknown step '{rerun.StepId}'" : step.Restart(RerunSet(rerun.StepId), $"rerun from {rerun.StepId}"),
            _ => $"unknown event {runEvent.GetType().Name}",
        };
        return ignored is null ? new RunTransition(step.State, step.Commands) : new RunTransition(state, []) { IgnoredBecause = ignored };
    }

    /// <summary>The steps a retry runs again: failed and cancelled normal steps, everything downstream of them, and every finally step.</summary>
    public IReadOnlySet<string> RetrySet(RunState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var roots = _definition.Steps.Where(s => state.Steps[s.Id].Status is StepStatus.Failed or StepStatus.Cancelled).Select(s => s.Id);
        var set = new HashSet<string>(StepGraph.DownstreamClosure(_definition, roots), StringComparer.Ordinal);
        set.UnionWith(_definition.Finally.Select(s => s.Id));
        return set;
    }

    /// <summary>The steps "rerun from <paramref name="stepId"/>" runs again: it, its transitive dependents, and every finally step.</summary>
    public IReadOnlySet<string> RerunSet(string stepId)
    {
        var set = new HashSet<string>(StepGraph.DownstreamClosure(_definition, [stepId]), StringComparer.Ordinal);
        set.UnionWith(_definition.Finally.Select(s => s.Id));
        return set;
    }

    /// <summary>What expressions and templates of <paramref name="stepId"/> see in <paramref name="state"/>; runners use it to render templates.</summary>
    public ExpressionContext ContextFor(RunState state, string stepId)
    {
        ArgumentNullException.ThrowIfNull(state);
        var spec = _definition.FindStep(stepId) ?? throw new ArgumentException($"Unknown step '{stepId}'.", nameof(stepId));
        var isFinally = _definition.IsFinally(stepId);
        var upstream = _upstream.GetValueOrDefault(stepId) ?? new HashSet<string>();

        // failure() looks at the whole upstream, so a failure two hops up still reaches a notifier through a
        // skipped step; a finally step's upstream is every normal step plus the finally steps it needs.
        var failureScope = isFinally ? upstream.Concat(_definition.Steps.Select(s => s.Id)) : upstream;
        return new ExpressionContext
        {
            Parameters = state.Parameters,
            Trigger = state.Trigger,
            Run = new Dictionary<string, object?>
            {
                ["id"] = state.RunId,
                ["generation"] = (double)state.Generation,
            },
            Steps = new StepContextView(state.Steps),
            NeedsSucceeded = NeedsSucceeded(state, spec, isFinally),
            UpstreamFailed = failureScope.Any(id => state.Steps.TryGetValue(id, out var s) && s.Status == StepStatus.Failed),
            Cancelled = state.CancelRequested,
        };
    }

    /// <summary>What success() means for <paramref name="spec"/>: every step it needs succeeded, and for a finally step also the normal part of the run went well (nothing failed or was cancelled).</summary>
    private bool NeedsSucceeded(RunState state, StepSpec spec, bool isFinally) =>
        spec.Needs.All(n => state.Steps.TryGetValue(n, out var need) && need.Status == StepStatus.Succeeded)
        && (!isFinally || _definition.Steps.All(s => state.Steps[s.Id].Status is not (StepStatus.Failed or StepStatus.Cancelled)));

    private Expr? Condition(StepSpec spec) => _conditions.GetOrAdd(spec.Id, _ => spec.When is null ? null : ImplicitStatus(spec, ExpressionParser.Parse(spec.When)));

    /// <summary>
    /// As in GitHub Actions, a condition that calls no status function is read as <c>success() &amp;&amp; (condition)</c>
    /// for a normal step, so <c>when: parameters.env == 'prod'</c> does not run after a failed need. Finally steps
    /// keep their condition as written: their implicit status is <c>always()</c>.
    /// </summary>
    private Expr ImplicitStatus(StepSpec spec, Expr condition)
    {
        if (_definition.IsFinally(spec.Id) || CallsStatusFunction(condition))
        {
            return condition;
        }

        return new BinaryExpr(BinaryOperator.And, new CallExpr("success", [], condition.Column), condition, condition.Column);
    }

    private static bool CallsStatusFunction(Expr expr) => expr switch
    {
        CallExpr { Function: "success" or "failure" or "always" or "cancelled" } => true,
        CallExpr call => call.Arguments.Any(CallsStatusFunction),
        NotExpr not => CallsStatusFunction(not.Operand),
        BinaryExpr binary => CallsStatusFunction(binary.Left) || CallsStatusFunction(binary.Right),
        _ => false,
    };

    /// <summary>One event's worth of changes, accumulated on a copy of the state.</summary>
    private sealed class Transition(RunStateMachine machine, RunState state, DateTimeOffset at)
    {
        private readonly PipelineDefinition _definition = machine._definition;

        public RunState State { get; private set; } = state;

        public List<RunCommand> Commands { get; } = [];

        public string? Start()
        {
            if (State.Status != RunStatus.Queued)
            {
                return $"the run is already {State.Status}";
            }

            State = State with { Status = RunStatus.Running, StartedAt = at };
            Commands.Add(new PublishEvent(RunEventTypes.RunStarted, State.RunId));
            Advance();
            return null;
        }

        public string? StepStarted(StepStarted started)
        {
            if (!State.Steps.TryGetValue(started.StepId, out var run))
            {
                return $"unknown step '{started.StepId}'";
            }

            var current = run.CurrentAttempt;
            if (current is null || run.Status is not (StepStatus.Queued or StepStatus.Running) || current.IsFinished)
            {
                return $"step '{started.StepId}' is {run.Status}, not waiting for a start";
            }

            if (!current.Answers(started.Attempt))
            {
                return $"attempt {started.Attempt} of '{started.StepId}' is stale (current attempt {current.Number})";
            }

            var spec = _definition.FindStep(started.StepId)!;
            if (current.StartedAt is null)
            {
                Update(run with { Status = StepStatus.Running, Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, current with { StartedAt = at }) });
                StartTimeout(spec, current.Number);
                return null;
            }

            // Started twice: the runner crashed and began again. Record the lost attempt and a new one, so the
            // history shows the restart instead of quietly reusing the attempt.
            var lost = current with { Outcome = AttemptOutcome.Lost, FinishedAt = at, Error = "the runner started this step again" };
            var restart = new StepAttempt { Number = run.NextAttemptNumber, QueuedAt = at, StartedAt = at, RestartOf = started.Attempt };
            Update(run with { Status = StepStatus.Running, Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, lost).Add(restart) });
            if (spec.Timeout is not null)
            {
                Commands.Add(new CancelTimer(TimerIds.Timeout(spec.Id, current.Number)));
            }

            StartTimeout(spec, restart.Number);
            Commands.Add(new PublishEvent(RunEventTypes.StepRestarted, State.RunId, spec.Id) { Detail = $"attempt {restart.Number} replaces {current.Number}" });
            return null;
        }

        public string? StepCompleted(StepCompleted completed)
        {
            if (!State.Steps.TryGetValue(completed.StepId, out var run))
            {
                return $"unknown step '{completed.StepId}'";
            }

            var current = run.CurrentAttempt;
            if (current is null || !current.Answers(completed.Attempt))
            {
                return $"attempt {completed.Attempt} of '{completed.StepId}' is not the current attempt";
            }

            if (current.IsFinished || run.Status is not (StepStatus.Queued or StepStatus.Running))
            {
                return $"attempt {completed.Attempt} of '{completed.StepId}' is already recorded";
            }

            if (current.StartedAt is null && completed.StartedAt is { } startedAt)
            {
                // The end overtook the start report (they travel separately): keep when the attempt really started.
                run = run with { Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, current with { StartedAt = startedAt }) };
            }

            var spec = _definition.FindStep(completed.StepId)!;
            if (spec.Timeout is not null && current.StartedAt is not null)
            {
                Commands.Add(new CancelTimer(TimerIds.Timeout(spec.Id, current.Number)));
            }

            Finish(spec, run, completed.Outcome, completed.Outputs, completed.Error);
            Advance();
            return null;
        }

        public string? StepLost(StepLost lost)
        {
            if (!State.Steps.TryGetValue(lost.StepId, out var run))
            {
                return $"unknown step '{lost.StepId}'";
            }

            var current = run.CurrentAttempt;
            if (current is null || current.Number != lost.Attempt || current.IsFinished || run.Status is not (StepStatus.Queued or StepStatus.Running))
            {
                return $"attempt {lost.Attempt} of '{lost.StepId}' is not running";
            }

            var spec = _definition.FindStep(lost.StepId)!;
            if (spec.Timeout is not null && current.StartedAt is not null)
            {
                Commands.Add(new CancelTimer(TimerIds.Timeout(spec.Id, current.Number)));
            }

            var error = lost.Reason ?? (lost.HandedOver ? "its runner was stopped and handed the attempt over" : "the runner stopped renewing its lease");
            run = run with { Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, current with { Outcome = AttemptOutcome.Lost, FinishedAt = at, Error = error, HandedOver = lost.HandedOver }) };
            if (State.CancelRequested)
            {
                // The run is cancelling and the runner that should confirm it is gone: the step is cancelled now.
                Update(run with { Status = StepStatus.Cancelled, Reason = "run cancelled" });
                Commands.Add(new PublishEvent(RunEventTypes.StepFinished(StepStatus.Cancelled), State.RunId, spec.Id) { Detail = error });
                Advance();
                return null;
            }

            // Hand-overs by runners that were stopped gracefully (deploys) are not the step's doing: they do not count.
            var lostInARow = run.Attempts.Reverse().TakeWhile(a => a.Outcome == AttemptOutcome.Lost).Count(a => !a.HandedOver);
            if (lostInARow >= MaxLostInARow)
            {
                // A step that takes its runner down with it would otherwise be dispatched for ever.
                var reason = $"lost {lostInARow} times in a row (its runner died or stopped each time; last: {error}); not dispatched again";
                Update(run with { Status = StepStatus.Failed, Reason = reason });
                Commands.Add(new PublishEvent(RunEventTypes.StepFinished(StepStatus.Failed), State.RunId, spec.Id) { Detail = reason });
                Advance();
                return null;
            }

            // Dispatched again under a new number; a crash restart does not use up a retry.
            var restart = new StepAttempt { Number = run.NextAttemptNumber, QueuedAt = at, RestartOf = current.Number, Redispatched = true };
            Update(run with { Status = StepStatus.Queued, Attempts = run.Attempts.Add(restart) });
            Commands.Add(new DispatchStep(spec.Id, restart.Number, TimeSpan.Zero));
            Commands.Add(new PublishEvent(RunEventTypes.StepRestarted, State.RunId, spec.Id) { Detail = $"attempt {restart.Number} replaces {current.Number}: {error}" });
            return null;
        }

        public string? GateOpened(GateOpened opened)
        {
            if (!State.Steps.TryGetValue(opened.StepId, out var run) || _definition.FindStep(opened.StepId) is not DeployStep { Strategy: CanaryStrategy { Approval: true } canary })
            {
                return $"'{opened.StepId}' is not a canary deploy with approval gates";
            }

            // Queued too: the runner's start report travels separately and may arrive after the gate.
            if (run.Status is not (StepStatus.Running or StepStatus.Queued) || run.CurrentAttempt is not { IsFinished: false } current || current.Number != opened.Attempt)
            {
                return $"attempt {opened.Attempt} of '{opened.StepId}' is not the one running";
            }

            if (run.GateDecisions.Any(d => d.Attempt == opened.Attempt && d.Gate == opened.Gate))
            {
                return $"gate {opened.Gate} of attempt {opened.Attempt} was decided already";
            }

            Update(run with { OpenGate = new DeployGate(opened.Attempt, opened.Gate) });
            Commands.Add(new PublishEvent(RunEventTypes.ApprovalRequested, State.RunId, opened.StepId) { Detail = $"canary gate {opened.Gate}: {string.Join(", ", canary.Approvers)}" });
            return null;
        }

        /// <summary>A decision on a canary deploy's open approval gate: the first approval lets it go on, a rejection rolls it back.</summary>
        private string? GateDecided(ApprovalDecided decided, StepRun run, CanaryStrategy canary)
        {
            if (!run.AwaitsGate)
            {
                return $"step '{decided.StepId}' is {run.Status}, not waiting at an approval gate";
            }

            if (!canary.Approvers.Contains(decided.User, StringComparer.Ordinal))
            {
                return $"'{decided.User}' is not an approver of '{decided.StepId}'";
            }

            var gate = run.OpenGate!;
            Update(run with
            {
                OpenGate = null,
                Votes = run.Votes.Add(new ApprovalVote(decided.User, decided.Approved, at) { Comment = decided.Comment, Gate = gate }),
                GateDecisions = run.GateDecisions.Add(new GateDecision(gate.Attempt, gate.Gate, decided.Approved, decided.User, at)),
            });
            return null;
        }

        public string? ApprovalDecided(ApprovalDecided decided)
        {
            if (State.Steps.TryGetValue(decided.StepId, out var gated) && _definition.FindStep(decided.StepId) is DeployStep { Strategy: CanaryStrategy { Approval: true } canary })
            {
                return GateDecided(decided, gated, canary);
            }

            if (!State.Steps.TryGetValue(decided.StepId, out var run) || _definition.FindStep(decided.StepId) is not ApprovalStep spec)
            {
                return $"'{decided.StepId}' is not an approval step";
            }

            if (run.Status != StepStatus.AwaitingApproval)
            {
                return $"step '{decided.StepId}' is {run.Status}, not awaiting approval";
            }

            if (!spec.Approvers.Contains(decided.User, StringComparer.Ordinal))
            {
                return $"'{decided.User}' is not an approver of '{decided.StepId}'";
            }

            if (run.Votes.Any(v => string.Equals(v.User, decided.User, StringComparison.Ordinal)))
            {
                return $"'{decided.User}' has already decided on '{decided.StepId}'";
            }

            run = run with { Votes = run.Votes.Add(new ApprovalVote(decided.User, decided.Approved, at) { Comment = decided.Comment }) };
            var approvals = run.Votes.Count(v => v.Approved);
            if (!decided.Approved)
            {
                ResolveApproval(spec, run, approved: false, $"rejected by {decided.User}");
            }
            else if (approvals >= spec.MinApprovers)
            {
                ResolveApproval(spec, run, approved: true, $"approved by {string.Join(", ", run.Votes.Where(v => v.Approved).Select(v => v.User))}");
            }
            else
            {
                Update(run);
            }

            Advance();
            return null;
        }

        public string? TimerFired(TimerFired fired)
        {
            if (!TimerIds.TryParse(fired.TimerId, out var purpose, out var stepId, out var attempt) || !State.Steps.TryGetValue(stepId, out var run))
            {
                return $"unknown timer '{fired.TimerId}'";
            }

            var spec = _definition.FindStep(stepId)!;
            var current = run.CurrentAttempt;
            if (current is null || current.Number != attempt || current.IsFinished)
            {
                return $"timer '{fired.TimerId}' is stale";
            }

            switch (purpose)
            {
                case TimerIds.TimeoutPurpose when run.Status is StepStatus.Running or StepStatus.Queued:
                    // The runner may still be working: tell it to stop; its late report is then a duplicate.
                    Commands.Add(new CancelStep(stepId, attempt));
                    Finish(spec, run, StepOutcome.TimedOut, new Dictionary<string, string>(), $"timed out after {Durations.Format(spec.Timeout ?? TimeSpan.Zero)}");
                    break;
                case TimerIds.ApprovalPurpose when run.Status == StepStatus.AwaitingApproval && spec is ApprovalStep approval:
                    var approve = approval.OnTimeout == ApprovalTimeoutOutcome.Approve;
                    ResolveApproval(approval, run, approve, approve ? "approved on timeout" : "rejected on timeout", timedOut: true);
                    break;
                case TimerIds.WaitPurpose when run.Status == StepStatus.Running:
                    Finish(spec, run, StepOutcome.Succeeded, new Dictionary<string, string>(), null);
                    break;
                default:
                    return $"timer '{fired.TimerId}' is stale";
            }

            Advance();
            return null;
        }

        public string? Cancel()
        {
            if (State.Status.IsTerminal())
            {
                return $"the run is already {State.Status}";
            }

            if (State.CancelRequested)
            {
                return "the run is already cancelling";
            }

            State = State with { CancelRequested = true };
            Commands.Add(new PublishEvent(RunEventTypes.RunCancelling, State.RunId));
            if (State.Status == RunStatus.Queued)
            {
                // Never started: nothing ran, so there is nothing for finally steps to clean up.
                foreach (var spec in _definition.AllSteps)
                {
                    Update(State.Steps[spec.Id] with { Status = StepStatus.Cancelled, Reason = "run cancelled before it started" });
                }

                FinishRun();
                return null;
            }

            foreach (var spec in _definition.Steps)
            {
                var run = State.Steps[spec.Id];
                var attempt = run.CurrentAttempt;
                switch (run.Status)
                {
                    case StepStatus.Running when spec is not WaitStep:
                        // Stays Running until the runner confirms; finally steps wait for that.
                        Commands.Add(new CancelStep(spec.Id, attempt!.Number));
                        break;
                    case StepStatus.Queued:
                        Commands.Add(new CancelStep(spec.Id, attempt!.Number));
                        CancelTimers(spec, attempt.Number);
                        Finish(spec, run, StepOutcome.Cancelled, new Dictionary<string, string>(), "run cancelled");
                        break;
                    case StepStatus.Running or StepStatus.AwaitingApproval:
                        CancelTimers(spec, attempt!.Number);
                        Finish(spec, run, StepOutcome.Cancelled, new Dictionary<string, string>(), "run cancelled");
                        break;
                }
            }

            Advance();
            return null;
        }

        public string? Restart(IReadOnlySet<string> steps, string why)
        {
            if (!State.Status.IsTerminal())
            {
                return $"the run is still {State.Status}; only a finished run can be retried";
            }

            foreach (var id in steps)
            {
                // Attempts stay (history, and attempt numbers keep rising so old reports stay stale); outputs go.
                Update(State.Steps[id] with { Status = StepStatus.Waiting, Outputs = ImmutableDictionary<string, string>.Empty, Votes = [], Reason = null, RetriesUsed = 0 });
            }

            State = State with { Status = RunStatus.Running, CancelRequested = false, FinishedAt = null, Generation = State.Generation + 1 };
            Commands.Add(new PublishEvent(RunEventTypes.RunRestarted, State.RunId) { Detail = why });
            Advance();
            return null;
        }

        /// <summary>Starts or skips every step that became ready, until nothing changes; then finishes the run if all is terminal.</summary>
        private void Advance()
        {
            if (State.Status != RunStatus.Running)
            {
                return;
            }

            bool changed;
            do
            {
                changed = false;
                var normalDone = _definition.Steps.All(s => State.Steps[s.Id].Status.IsTerminal());
                foreach (var spec in normalDone ? _definition.Finally : _definition.Steps)
                {
                    var run = State.Steps[spec.Id];
                    if (run.Status != StepStatus.Waiting)
                    {
                        continue;
                    }

                    if (State.CancelRequested && !normalDone)
                    {
                        Update(run with { Status = StepStatus.Cancelled, Reason = "run cancelled" });
                        Commands.Add(new PublishEvent(RunEventTypes.StepFinished(StepStatus.Cancelled), State.RunId, spec.Id));
                        changed = true;
                        continue;
                    }

                    if (!spec.Needs.All(n => State.Steps.TryGetValue(n, out var need) && need.Status.IsTerminal()))
                    {
                        continue;
                    }

                    changed = true;
                    var (decision, reason) = Decide(spec);
                    if (decision == StepStatus.Queued)
                    {
                        Begin(spec, run);
                    }
                    else
                    {
                        Update(run with { Status = decision, Reason = reason });
                        Commands.Add(new PublishEvent(RunEventTypes.StepFinished(decision), State.RunId, spec.Id) { Detail = reason });
                    }
                }
            }
            while (changed);

            if (State.Steps.Values.All(s => s.Status.IsTerminal()))
            {
                FinishRun();
            }
        }

        /// <summary>Queued (start it), Skipped (its condition is false) or Failed (its condition cannot be evaluated).</summary>
        private (StepStatus Decision, string? Reason) Decide(StepSpec spec)
        {
            if (spec.When is null)
            {
                // No condition: no expression context to build (the whole run's step contexts), only success().
                var isFinally = _definition.IsFinally(spec.Id);
                return isFinally || (machine.NeedsSucceeded(State, spec, isFinally) && !State.CancelRequested) ? (StepStatus.Queued, null) : (StepStatus.Skipped, "a needed step did not succeed");
            }

            var context = machine.ContextFor(State, spec.Id);

            // Saved definitions are validated, so a bad condition means an unvalidated definition: fail the step
            // visibly rather than skip it quietly.
            try
            {
                var condition = machine.Condition(spec)!;
                return ExpressionEvaluator.IsTruthy(ExpressionEvaluator.Evaluate(condition, context)) ? (StepStatus.Queued, null) : (StepStatus.Skipped, $"when '{spec.When}' is false");
            }
            catch (ExpressionException ex)
            {
                return (StepStatus.Failed, $"when '{spec.When}' could not be evaluated: {ex.Message}");
            }
        }

        private void Begin(StepSpec spec, StepRun run)
        {
            var attempt = new StepAttempt { Number = run.NextAttemptNumber, QueuedAt = at };
            switch (spec)
            {
                case ApprovalStep approval:
                    // Approval and wait steps start here, with no runner to report it: the started event is this one.
                    Update(run with { Status = StepStatus.AwaitingApproval, Attempts = run.Attempts.Add(attempt with { StartedAt = at }) });
                    Commands.Add(new PublishEvent(RunEventTypes.StepStarted, State.RunId, spec.Id));
                    if (approval.Timeout is { } timeout)
                    {
                        Commands.Add(new StartTimer(TimerIds.Approval(spec.Id, attempt.Number), at + timeout));
                    }

                    Commands.Add(new PublishEvent(RunEventTypes.ApprovalRequested, State.RunId, spec.Id) { Detail = string.Join(", ", approval.Approvers) });
                    break;
                case WaitStep wait:
                    // A wait needs no runner: a timer is the whole step.
                    Update(run with { Status = StepStatus.Running, Attempts = run.Attempts.Add(attempt with { StartedAt = at }) });
                    Commands.Add(new PublishEvent(RunEventTypes.StepStarted, State.RunId, spec.Id));
                    Commands.Add(new StartTimer(TimerIds.Wait(spec.Id, attempt.Number), at + wait.Duration));
                    break;
                default:
                    Update(run with { Status = StepStatus.Queued, Attempts = run.Attempts.Add(attempt) });
                    Commands.Add(new DispatchStep(spec.Id, attempt.Number, TimeSpan.Zero));
                    break;
            }
        }

        private void Finish(StepSpec spec, StepRun run, StepOutcome outcome, IReadOnlyDictionary<string, string> outputs, string? error)
        {
            var current = run.CurrentAttempt!;
            var recorded = current with
            {
                Outcome = outcome switch
                {
                    StepOutcome.Succeeded => AttemptOutcome.Succeeded,
                    StepOutcome.TimedOut => AttemptOutcome.TimedOut,
                    StepOutcome.Cancelled => AttemptOutcome.Cancelled,
                    _ => AttemptOutcome.Failed,
                },
                FinishedAt = at,
                Error = error,
            };
            run = run with { Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, recorded) };

            if (outcome is StepOutcome.Failed or StepOutcome.TimedOut && RetryDelay(spec, run, outcome) is { } delay)
            {
                var next = new StepAttempt { Number = run.NextAttemptNumber, QueuedAt = at, Delay = delay };
                Update(run with { Status = StepStatus.Queued, Attempts = run.Attempts.Add(next), RetriesUsed = run.RetriesUsed + 1 });
                Commands.Add(new DispatchStep(spec.Id, next.Number, delay));
                return;
            }

            var status = outcome switch
            {
                StepOutcome.Succeeded => StepStatus.Succeeded,
                StepOutcome.Cancelled => StepStatus.Cancelled,
                _ => StepStatus.Failed,
            };
            Update(run with
            {
                Status = status,
                // What the final attempt reported, also when it failed (a deploy's rolledBack, an http step's status and
                // body): a failure() notifier reads them; steps on the success path never run after a failed step.
                Outputs = outputs.ToImmutableDictionary(StringComparer.Ordinal),
                Reason = error,
            });
            Commands.Add(new PublishEvent(RunEventTypes.StepFinished(status), State.RunId, spec.Id) { Detail = error });
        }

        /// <summary>The backoff before another attempt, or null when the policy allows none (limit reached, outcome not retried, run cancelling).</summary>
        private TimeSpan? RetryDelay(StepSpec spec, StepRun run, StepOutcome outcome)
        {
            if (spec.Retries is not { } policy || State.CancelRequested)
            {
                return null;
            }

            var on = outcome == StepOutcome.TimedOut ? RetryOn.Timeout : RetryOn.Failure;
            if (!policy.On.Contains(on))
            {
                return null;
            }

            // Retries count within this pass of the step (a run retry starts a new pass); crash restarts do not count.
            return run.RetriesUsed < policy.Limit ? policy.DelayBefore(run.RetriesUsed + 2) : null;
        }

        private void ResolveApproval(ApprovalStep spec, StepRun run, bool approved, string reason, bool timedOut = false)
        {
            var current = run.CurrentAttempt!;
            if (spec.Timeout is not null && !timedOut)
            {
                Commands.Add(new CancelTimer(TimerIds.Approval(spec.Id, current.Number)));
            }

            var recorded = current with { Outcome = approved ? AttemptOutcome.Succeeded : AttemptOutcome.Failed, FinishedAt = at, Error = approved ? null : reason };
            var status = approved ? StepStatus.Succeeded : StepStatus.Failed;
            Update(run with { Status = status, Attempts = run.Attempts.SetItem(run.Attempts.Count - 1, recorded), Reason = reason });
            Commands.Add(new PublishEvent(RunEventTypes.StepFinished(status), State.RunId, spec.Id) { Detail = reason });
        }

        private void StartTimeout(StepSpec spec, int attempt)
        {
            if (spec.Timeout is { } timeout && spec is not ApprovalStep)
            {
                Commands.Add(new StartTimer(TimerIds.Timeout(spec.Id, attempt), at + timeout + (spec is DeployStep ? DeployRollbackAllowance : TimeSpan.Zero)));
            }
        }

        private void CancelTimers(StepSpec spec, int attempt)
        {
            switch (spec)
            {
                case ApprovalStep { Timeout: not null }:
                    Commands.Add(new CancelTimer(TimerIds.Approval(spec.Id, attempt)));
                    break;
                case WaitStep:
                    Commands.Add(new CancelTimer(TimerIds.Wait(spec.Id, attempt)));
                    break;
                case { Timeout: not null } when State.Steps[spec.Id].CurrentAttempt?.StartedAt is not null:
                    Commands.Add(new CancelTimer(TimerIds.Timeout(spec.Id, attempt)));
                    break;
            }
        }

        private void FinishRun()
        {
            var status = State.CancelRequested ? RunStatus.Cancelled
                : State.Steps.Values.Any(s => s.Status is StepStatus.Failed or StepStatus.Cancelled) ? RunStatus.Failed
                : RunStatus.Succeeded;
            State = State with { Status = status, FinishedAt = at };
            Commands.Add(new PublishEvent(RunEventTypes.RunFinished(status), State.RunId));
        }

        private void Update(StepRun run) => State = State with { Steps = State.Steps.SetItem(run.StepId, run) };
    }
}
