using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Orchestration;

/// <summary>
/// The orchestrator's queue trigger: applies what runners report to the run. Idempotent twice over: the event id is
/// marked processed in the same transaction as the change, and the state machine ignores stale or repeated reports.
/// </summary>
public sealed class StepResultHandler(RunStore runs) : ISubscriptionHandler
{
    public const string Subscription = "pipelines.orchestrator.results";

    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var result = cloudEvent.Data?.ToObjectFromJson<StepResultData>(System.Text.Json.JsonSerializerOptions.Web);
        if (result is null)
        {
            return;
        }

        await runs.ApplyReportAsync(result.RunId, result.ToRunEvent(), (Subscription, cloudEvent.Id), cancellationToken).ConfigureAwait(false);
    }
}
