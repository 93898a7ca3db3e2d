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
/// runners can live in another process. A redelivered dispatch of a finished attempt is dropped; one of an attempt
/// in progress (the runner crashed) runs again, and the state machine records the restart.
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

        var spec = run.Definition.FindStep(dispatch.StepId)!;
        await ReportAsync(new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, null, time.GetUtcNow()), cancellationToken).ConfigureAwait(false);

        var limit = spec is ScriptStep script ? script.LogLimitBytes : 1024 * 1024;
        var log = new StepLog(logs, run.RunId, dispatch.StepId, dispatch.Attempt, limit);
        StepExecution execution;
        await using (log.ConfigureAwait(false))
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watcher = WatchAsync(run.RunId, dispatch.StepId, dispatch.Attempt, log, stop);
            try
            {
                var work = new StepWork(run, dispatch.StepId, dispatch.Attempt, new RunStateMachine(run.Definition).ContextFor(run.State, dispatch.StepId), log);
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

        await ReportAsync(new StepResultData(run.RunId, dispatch.StepId, dispatch.Attempt, execution.Outcome, time.GetUtcNow()) { Outputs = execution.Outputs, Error = execution.Error }, CancellationToken.None).ConfigureAwait(false);
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
