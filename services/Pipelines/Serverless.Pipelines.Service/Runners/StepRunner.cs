using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Expressions;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The queue trigger of step execution (<c>pipeline.step.dispatch</c>): reports the start, runs the step by kind,
/// reports the end on <c>pipeline.step.result</c>. It talks to the orchestrator only through those events, so
/// runners can live in another process. The dispatch is acknowledged only when the handler returns, so when a
/// runner process dies mid-step the transport redelivers it to another runner: that one reports the start again and
/// the state machine records the first attempt as Lost and a new attempt (<c>RestartOf</c>). The final report is
/// committed with a note (<see cref="RunStore.RecordResultAsync"/>), so a dispatch redelivered after the step
/// finished is dropped even before the orchestrator has applied the result: a finished step never runs twice.
/// </summary>
public sealed class StepRunner(
    RunStore runs,
    StepLogStore logs,
    IEventPublisher publisher,
    ScriptExecutor scripts,
    HttpStepExecutor httpSteps,
    DeployExecutor deploys,
    RunnerOptions options,
    TimeProvider time) : ISubscriptionHandler
{
    public const string Subscription = "pipelines.runner";

    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var dispatch = cloudEvent.Data?.ToObjectFromJson<StepDispatchData>(System.Text.Json.JsonSerializerOptions.Web);
        if (dispatch is null || await runs.GetAsync(dispatch.RunId, cancellationToken).ConfigureAwait(false) is not { } run || !IsCurrent(run, dispatch.StepId, dispatch.Attempt))
        {
            return;
        }

        if (await runs.IsReportedAsync(run.RunId, dispatch.StepId, dispatch.Attempt, cancellationToken).ConfigureAwait(false))
        {
            // A runner finished this attempt and its result is on its way (committed with the note): never run it twice.
            return;
        }

        var spec = run.Definition.FindStep(dispatch.StepId)!;
        var startedAt = time.GetUtcNow();
        await ReportAsync(new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, null, startedAt), cancellationToken).ConfigureAwait(false);

        // A dispatch of an attempt that already started is a redelivery after a runner died: the state machine records
        // this execution as a new attempt, so its log and PIPELINE_ATTEMPT use that number, not the lost one's.
        // (Reports keep the dispatched number; the state machine lands them on the new attempt.)
        var stepRun = run.State.Steps[dispatch.StepId];
        var attempt = stepRun.CurrentAttempt!.StartedAt is null ? dispatch.Attempt : stepRun.NextAttemptNumber;
        var limit = spec is ScriptStep script ? script.LogLimitBytes : 1024 * 1024;
        var log = new StepLog(logs, run.RunId, dispatch.StepId, attempt, limit);
        StepExecution execution;
        await using (log.ConfigureAwait(false))
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watcher = WatchAsync(run.RunId, dispatch.StepId, dispatch.Attempt, log, stop);
            try
            {
                var work = new StepWork(run, dispatch.StepId, attempt, new RunStateMachine(run.Definition).ContextFor(run.State, dispatch.StepId), log);
                execution = await ExecuteAsync(spec, work, stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                log.WriteLine("[cancelled]");
                execution = new StepExecution(StepOutcome.Cancelled, new Dictionary<string, string>(), "cancelled");
            }
            catch (ExpressionException ex)
            {
                execution = StepExecution.Failed($"a template could not be rendered: {ex.Message}");
            }
            finally
            {
                await stop.CancelAsync().ConfigureAwait(false);
                await watcher.ConfigureAwait(false);
            }

            if (execution.Error is not null)
            {
                log.WriteLine($"[{execution.Outcome}: {execution.Error}]");
            }
        }

        await runs.RecordResultAsync(new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, execution.Outcome, time.GetUtcNow()) { Outputs = execution.Outputs, Error = execution.Error, StartedAt = startedAt }, CancellationToken.None).ConfigureAwait(false);
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
    /// Stops the attempt when the orchestrator has given up on it (timeout, cancel): the attempt is finished in the
    /// run state, or the run is cancelling. Reading the state works whichever process holds the step.
    /// </summary>
    private async Task WatchAsync(string runId, string stepId, int attempt, StepLog log, CancellationTokenSource stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(options.CancelPollInterval, stop.Token).ConfigureAwait(false);
                await log.FlushAsync(stop.Token).ConfigureAwait(false);
                var run = await runs.GetAsync(runId, stop.Token).ConfigureAwait(false);
                if (run is null || run.State.CancelRequested || !IsCurrent(run, stepId, attempt))
                {
                    await stop.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static bool IsCurrent(RunRecord run, string stepId, int attempt) =>
        run.State.Steps.TryGetValue(stepId, out var step)
        && step.Status is StepStatus.Queued or StepStatus.Running
        && step.CurrentAttempt is { IsFinished: false } current
        && (current.Number == attempt || current.RestartOf == attempt);

    private Task ReportAsync(StepResultData result, CancellationToken cancellationToken) =>
        publisher.PublishAsync(PipelineTopics.StepResult, CloudEventJson.Create(RunStore.Source, PipelineTopics.StepResult, result, $"{result.RunId}/{result.StepId}"), cancellationToken);
}
