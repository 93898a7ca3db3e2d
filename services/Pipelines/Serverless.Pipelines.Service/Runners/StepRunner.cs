using Azure.Messaging;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.Http;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runs;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The queue trigger of step execution (<c>pipeline.step.dispatch</c>). It waits for a free runner slot
/// (<see cref="RunnerSlots"/>), claims the attempt with a lease in the state store (which also reports the start on
/// <c>pipeline.step.result</c>), and returns: the dispatch is acknowledged while the step runs in the background,
/// however long it takes (RabbitMQ would close a channel holding a delivery past its consumer timeout and hand the
/// dispatch to a second runner). While the step runs its watcher renews the lease every third of
/// <see cref="RunnerOptions.LeaseDuration"/>, streams the log, and stops the step when the orchestrator gave up on the
/// attempt (cancel, timeout) or the lease was lost. When a runner process dies its lease lapses and the orchestrator
/// records the attempt as Lost and dispatches a new one (<c>RestartOf</c>). An attempt is claimed once only, so a
/// redelivered dispatch never runs it a second time; the final report commits with the note and the lease's end
/// (<see cref="RunStore.RecordResultAsync"/>), so a finished step never runs twice.
/// </summary>
public sealed partial class StepRunner(
    RunStore runs,
    StepLogStore logs,
    IEventPublisher publisher,
    ScriptExecutor scripts,
    HttpStepExecutor httpSteps,
    DeployExecutor deploys,
    RunnerOptions options,
    RunnerSlots slots,
    TimeProvider time,
    ILogger<StepRunner> logger,
    PublishTopicPolicy? publishTopics = null) : ISubscriptionHandler
{
    public const string Subscription = "pipelines.runner";

    private static readonly TimeSpan ReportRetryInitialDelay = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan ReportRetryMaxDelay = TimeSpan.FromSeconds(5);

    private readonly SharedRunReads _runReads = new(runs, time);

    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var dispatch = cloudEvent.Data?.ToObjectFromJson<StepDispatchData>(System.Text.Json.JsonSerializerOptions.Web);
        if (dispatch is null || await RunnableAsync(dispatch, cancellationToken).ConfigureAwait(false) is not { } run)
        {
            return;
        }

        // Unacknowledged until a slot is free: a busy runner does not take work it cannot start.
        var waiting = slots.WaitAsync(cancellationToken);
        var waited = !waiting.IsCompleted;
        var slot = await waiting.ConfigureAwait(false);
        try
        {
            // Looked at again after a wait for a slot: meanwhile the attempt may have ended (cancel, timeout).
            if (waited)
            {
                if (await RunnableAsync(dispatch, cancellationToken).ConfigureAwait(false) is not { } current)
                {
                    return;
                }

                run = current;
            }

            var startedAt = time.GetUtcNow();
            var lease = await runs.AcquireLeaseAsync(new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, null, startedAt), slots.InstanceId, options.LeaseDuration, cancellationToken).ConfigureAwait(false);
            if (lease is null)
            {
                // Claimed before (a redelivery): that runner runs it, or its lease lapses and the orchestrator dispatches it anew.
                return;
            }

            var taken = slot;
            slot = null;
            slots.Start(taken, abandon => RunAttemptAsync(run, dispatch, lease, startedAt, abandon));
        }
        finally
        {
            slot?.Dispose();
        }
    }

    /// <summary>The run when the dispatched attempt is still the one to run and nobody reported its end; otherwise null.</summary>
    private async Task<RunRecord?> RunnableAsync(StepDispatchData dispatch, CancellationToken cancellationToken)
    {
        // Both in one read. Reported: a runner finished this attempt and its result is on its way (committed with the
        // note), so it never runs twice.
        var (run, reported) = await runs.GetForAttemptAsync(dispatch.RunId, dispatch.StepId, dispatch.Attempt, cancellationToken).ConfigureAwait(false);
        return run is not null && !reported && IsCurrent(run, dispatch.StepId, dispatch.Attempt) ? run : null;
    }

    /// <summary>
    /// One claimed attempt, in the background. <paramref name="abandon"/> is cancelled when this process stops: the
    /// step is then killed and reported by nobody; its lease is given up so the orchestrator runs it again.
    /// </summary>
    private async Task RunAttemptAsync(RunRecord run, StepDispatchData dispatch, HeldLease lease, DateTimeOffset startedAt, CancellationToken abandon)
    {
        var spec = run.Definition.FindStep(dispatch.StepId)!;
        var limit = spec is ScriptStep script ? script.LogLimitBytes : 1024 * 1024;
        var log = new StepLog(logs, run.RunId, dispatch.StepId, dispatch.Attempt, limit);
        var holder = new LeaseHolder(lease);
        StepExecution? execution = null;
        await using (log.ConfigureAwait(false))
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(abandon);
            var watcher = WatchAsync(run.RunId, dispatch.StepId, dispatch.Attempt, log, holder, stop);
            try
            {
                var work = new StepWork(run, dispatch.StepId, dispatch.Attempt, RunStateMachine.For(run.Definition).ContextFor(run.State, dispatch.StepId), log);
                execution = await ExecuteAsync(spec, work, stop.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (abandon.IsCancellationRequested || holder.Lost)
            {
                // Whatever the step threw while it was being stopped, nobody reports it: the orchestrator runs it again.
                if (ex is not OperationCanceledException)
                {
                    LogStoppedStepThrew(logger, ex, run.RunId, dispatch.StepId, dispatch.Attempt);
                }

                log.WriteLine(holder.Lost ? "[lease lost: the orchestrator gave this attempt up; stopped]" : "[runner stopping: the step will run again]");
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Only the watcher stops a step: the run was cancelled or the orchestrator finished the attempt (its timeout).
                log.WriteLine("[cancelled]");
                execution = new StepExecution(StepOutcome.Cancelled, new Dictionary<string, string>(), "cancelled");
            }
            catch (OperationCanceledException ex)
            {
                // Cancelled by nobody who stops steps: a timeout inside the executor (an HTTP client's), so a timeout.
                execution = new StepExecution(StepOutcome.TimedOut, new Dictionary<string, string>(), $"timed out: {ex.Message}");
            }
            catch (ExpressionException ex)
            {
                execution = StepExecution.Failed($"a template could not be rendered: {ex.Message}");
            }
            catch (Exception ex)
            {
                // A deterministic error (an answer that is not JSON, a URL a template rendered wrong) fails the attempt
                // now, with its message; left to lapse, the lease would have the step run again and again.
                LogStepThrew(logger, ex, run.RunId, dispatch.StepId, dispatch.Attempt);
                execution = StepExecution.Failed($"the step failed unexpectedly: {ex.Message}");
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await watcher.ConfigureAwait(false);
            }

            // Outputs live in the run record (and the step-result message): over the cap the attempt fails, its log kept.
            if (execution is not null && StepOutputLimit.Problem(execution.Outputs, options.MaxOutputBytes) is { } tooLarge)
            {
                execution = StepExecution.Failed(tooLarge);
            }

            if (execution?.Error is not null)
            {
                log.WriteLine($"[{execution.Outcome}: {execution.Error}]");
            }

            // The log's last lines first (the flush when the log is disposed then has nothing left to write). A log that
            // cannot be written for another reason does not keep the result from being recorded: the step is not run again.
            if (execution is not null)
            {
                try
                {
                    if (!await UntilStoredAsync("log", () => log.FlushAsync(CancellationToken.None), holder, run.RunId, dispatch.StepId, dispatch.Attempt, abandon).ConfigureAwait(false))
                    {
                        execution = null;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogLogLost(logger, ex, run.RunId, dispatch.StepId, dispatch.Attempt);
                }
            }
        }

        // Reported once the attempt's log and watcher are done with: reporting inside the block measured 0.5–1 ms more
        // from one step ready to the next started (a chain on the embedded profile).
        if (execution is not null)
        {
            var result = new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, execution.Outcome, time.GetUtcNow()) { Outputs = execution.Outputs, Error = execution.Error, StartedAt = startedAt };
            var recorded = await UntilStoredAsync(
                "result",
                async () =>
                {
                    if (!await runs.RecordResultAsync(result, CancellationToken.None, holder.Current).ConfigureAwait(false))
                    {
                        LogResultDropped(logger, result.RunId, result.StepId, result.Attempt);
                    }
                },
                holder,
                result.RunId,
                result.StepId,
                result.Attempt,
                abandon).ConfigureAwait(false);
            if (recorded)
            {
                return;
            }
        }

        // Not reported (stopping, or the lease was lost): a lease still held is given up so the step runs again at once.
        if (!holder.Lost)
        {
            slots.Abandoned(holder.Current);
        }
    }

    /// <summary>
    /// A write of the final report (the log's last lines, then the result with the lease's end,
    /// <see cref="RunStore.RecordResultAsync"/>). A state store that cannot be reached at that moment (PostgreSQL
    /// restarting, a fail-over) is tried again, with backoff, instead of leaving the finished step's lease to lapse so that
    /// it runs a second time. The lease's ETag still decides: a report that comes after the orchestrator declared the
    /// attempt lost (or after an earlier try that committed unseen) is dropped. A stopping process, or one whose lease the
    /// watcher found lost, gives up (false).
    /// </summary>
    private async Task<bool> UntilStoredAsync(string what, Func<Task> write, LeaseHolder holder, string runId, string stepId, int attempt, CancellationToken abandon)
    {
        var delay = ReportRetryInitialDelay;
        for (var failures = 1; ; failures++)
        {
            try
            {
                await write().ConfigureAwait(false);
                return true;
            }
            catch (Exception ex) when (TransientFailures.IsTransient(ex))
            {
                LogReportFailed(logger, ex, what, runId, stepId, attempt, failures, delay);
            }

            if (holder.Lost)
            {
                LogResultDropped(logger, runId, stepId, attempt);
                return false;
            }

            try
            {
                await Task.Delay(delay, time, abandon).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                LogReportAbandoned(logger, runId, stepId, attempt);
                return false;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, ReportRetryMaxDelay.Ticks));
        }
    }

    private Task<StepExecution> ExecuteAsync(StepSpec spec, StepWork work, CancellationToken cancellationToken) => spec switch
    {
        ScriptStep script => scripts.RunAsync(script, work, cancellationToken),
        HttpStep http => httpSteps.RunAsync(http, work, cancellationToken),
        DeployStep deploy => deploys.RunAsync(deploy, work, cancellationToken),
        PublishStep publish => PublishAsync(publish, work, cancellationToken),
        _ => Task.FromResult(StepExecution.Failed($"a '{spec.Kind}' step has no runner")),
    };

    private async Task<StepExecution> PublishAsync(PublishStep spec, StepWork work, CancellationToken cancellationToken)
    {
        // Checked again here: a definition stored before the rule (or under a wider allow list) must not reach
        // pipeline.step.result, scm.push or any other topic the policy refuses now.
        if ((publishTopics ?? PublishTopicPolicy.Default).Problem(spec.Topic) is { } refused)
        {
            work.Log.WriteLine($"refused: {refused}");
            return StepExecution.Failed($"publish refused: {refused}");
        }

        var data = spec.Data.ToDictionary(d => d.Key, d => TemplateString.Render(d.Value, work.Context), StringComparer.Ordinal);
        try
        {
            await publisher.PublishAsync(spec.Topic, CloudEventJson.Create(RunStore.Source, spec.Type ?? spec.Topic, data, work.Run.RunId), cancellationToken).ConfigureAwait(false);
            work.Log.WriteLine($"published to {spec.Topic}");
            return StepExecution.Succeeded();
        }
        catch (Exception ex) when (ex is UnknownTopicException or InvalidTopicNameException)
        {
            return StepExecution.Failed(ex.Message);
        }
    }

    /// <summary>
    /// Renews the lease every third of its duration, flushes the log, and stops the attempt when the orchestrator has
    /// given up on it (timeout, cancel: the attempt is finished in the run state, or the run is cancelling and the step
    /// is not a finally step) or the lease was lost. Reading the state works whichever process holds the step.
    /// </summary>
    private async Task WatchAsync(string runId, string stepId, int attempt, StepLog log, LeaseHolder lease, CancellationTokenSource stop)
    {
        var renewAt = time.GetUtcNow() + options.LeaseRenewalInterval;
        var checkAt = time.GetUtcNow() + options.RunCheckInterval;
        string? seenNote = null;
        using var watching = _runReads.Watch(runId);
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.CancelPollInterval, stop.Token).ConfigureAwait(false);
                if (time.GetUtcNow() >= renewAt)
                {
                    // Never cancelled halfway: a renewal that committed unseen would leave a stale ETag for the final report.
                    var renewed = await runs.RenewLeaseAsync(lease.Current, options.LeaseDuration, CancellationToken.None).ConfigureAwait(false);
                    if (renewed is null)
                    {
                        lease.Lost = true;
                        LogLeaseLost(logger, runId, stepId, attempt);
                        await stop.CancelAsync().ConfigureAwait(false);
                        return;
                    }

                    lease.Current = renewed;
                    renewAt = time.GetUtcNow() + options.LeaseRenewalInterval;
                }

                await log.FlushAsync(stop.Token).ConfigureAwait(false);
                // The run itself only when its stop note changed (or first appeared), and now and then anyway.
                var note = await _runReads.ReadStopNoteAsync(runId, options.CancelPollInterval, stop.Token).ConfigureAwait(false);
                if (note == seenNote && time.GetUtcNow() < checkAt)
                {
                    continue;
                }

                var run = await runs.GetAsync(runId, stop.Token).ConfigureAwait(false);
                seenNote = note;
                checkAt = time.GetUtcNow() + options.RunCheckInterval;
                // A cancel stops normal steps only: finally steps run to their end (their own timeout still stops them).
                if (run is null || (run.State.CancelRequested && !run.Definition.IsFinally(stepId)) || !IsCurrent(run, stepId, attempt))
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The store is unreachable for a moment: keep the step running and try again; the lease has slack.
                LogWatchFailed(logger, ex, runId, stepId, attempt);
            }
        }
    }

    private static bool IsCurrent(RunRecord run, string stepId, int attempt) =>
        run.State.Steps.TryGetValue(stepId, out var step)
        && step.Status is StepStatus.Queued or StepStatus.Running
        && step.CurrentAttempt is { IsFinished: false } current
        && current.Answers(attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The lease of run {RunId} step {StepId} attempt {Attempt} was lost (the orchestrator declared the attempt lost); the step is stopped")]
    private static partial void LogLeaseLost(ILogger logger, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Watching run {RunId} step {StepId} attempt {Attempt} failed; trying again")]
    private static partial void LogWatchFailed(ILogger logger, Exception exception, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Run {RunId} step {StepId} attempt {Attempt} threw; the attempt fails")]
    private static partial void LogStepThrew(ILogger logger, Exception exception, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} step {StepId} attempt {Attempt} threw while it was being stopped; it runs again")]
    private static partial void LogStoppedStepThrew(ILogger logger, Exception exception, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The {What} of run {RunId} step {StepId} attempt {Attempt} could not be written yet (failure {Failures}); trying again in {Delay}")]
    private static partial void LogReportFailed(ILogger logger, Exception exception, string what, string runId, string stepId, int attempt, int failures, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The last lines of the log of run {RunId} step {StepId} attempt {Attempt} could not be written; the result is recorded without them")]
    private static partial void LogLogLost(ILogger logger, Exception exception, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The result of run {RunId} step {StepId} attempt {Attempt} was not recorded before the runner stopped; the step runs again")]
    private static partial void LogReportAbandoned(ILogger logger, string runId, string stepId, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The result of run {RunId} step {StepId} attempt {Attempt} was not recorded: it was recorded before, or its lease was lost")]
    private static partial void LogResultDropped(ILogger logger, string runId, string stepId, int attempt);

    /// <summary>The lease an execution holds, as its watcher renews it.</summary>
    private sealed class LeaseHolder(HeldLease lease)
    {
        public HeldLease Current { get; set; } = lease;

        public bool Lost { get; set; }
    }
}
