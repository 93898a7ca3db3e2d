using Azure.Messaging;
using Microsoft.Extensions.Logging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Runs;
using Serverless.Pipelines.Triggers;

namespace Serverless.Pipelines.Service.Triggers;

/// <summary>
/// Starts every pipeline whose push trigger matches an <c>scm.push</c>. The push is the run's trigger context
/// (<c>trigger.repository</c>, <c>trigger.ref</c>, <c>trigger.commit</c>...), and parameters named <c>commit</c>,
/// <c>ref</c>, <c>branch</c> or <c>repository</c> receive it too. One run per pipeline per event, even when redelivered.
/// </summary>
public sealed partial class PushTriggerHandler(DefinitionStore definitions, RunStore runs, ILogger<PushTriggerHandler> logger) : ISubscriptionHandler
{
    public const string Subscription = "pipelines.trigger.push";

    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var push = cloudEvent.Data?.ToObjectFromJson<ScmPushData>(System.Text.Json.JsonSerializerOptions.Web);
        if (push is null || string.IsNullOrEmpty(push.Repository) || string.IsNullOrEmpty(push.Ref))
        {
            return;
        }

        var match = new PushEvent(push.Repository, push.Ref, push.ChangedPaths(), PushEvent.IsDeletion(push.After));
        const string BranchPrefix = "refs/heads/";
        var branch = push.Ref.StartsWith(BranchPrefix, StringComparison.Ordinal) ? push.Ref[BranchPrefix.Length..] : push.Ref;
        var trigger = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            ["kind"] = "push",
            ["repository"] = push.Repository,
            ["ref"] = push.Ref,
            ["branch"] = branch,
            ["before"] = push.Before,
            ["commit"] = push.After,
            ["pusher"] = push.Pusher,
            ["eventId"] = cloudEvent.Id,
        };
        foreach (var pipeline in await definitions.LatestForTriggersAsync(cancellationToken).ConfigureAwait(false))
        {
            // One pipeline's triggers must never stop the others: a matcher that fails is logged and that pipeline skipped.
            bool matches;
            try
            {
                matches = PushTriggerMatcher.Matches(pipeline.Definition, match);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogMatchFailed(logger, ex, pipeline.Name, push.Repository, push.Ref);
                continue;
            }

            if (!matches)
            {
                continue;
            }

            var given = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (name, value) in new[] { ("commit", push.After), ("ref", push.Ref), ("branch", branch), ("repository", push.Repository) })
            {
                if (pipeline.Definition.Parameters.Any(p => p.Name == name && p.Type is ParameterType.Text))
                {
                    given[name] = value;
                }
            }

            var started = await runs.StartAsync(pipeline, given, trigger, t => t.MarkProcessed(Subscription, cloudEvent.Id + "/" + pipeline.Name), cancellationToken).ConfigureAwait(false);
            if (started.Problems.Count > 0)
            {
                LogNotStarted(logger, pipeline.Name, push.Repository, push.Ref, string.Join("; ", started.Problems));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Matching the push to {Repository} {Ref} against pipeline {Pipeline} failed; that pipeline is skipped")]
    private static partial void LogMatchFailed(ILogger logger, Exception exception, string pipeline, string repository, string @ref);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The push to {Repository} {Ref} matches pipeline {Pipeline}, but a push cannot start it: {Problems}")]
    private static partial void LogNotStarted(ILogger logger, string pipeline, string repository, string @ref, string problems);
}
