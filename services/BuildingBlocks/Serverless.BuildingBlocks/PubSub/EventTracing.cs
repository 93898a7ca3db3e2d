using System.Diagnostics;
using Azure.Messaging;
using Serverless.BuildingBlocks.Telemetry;

namespace Serverless.BuildingBlocks.PubSub;

/// <summary>
/// W3C trace context on CloudEvents (the distributed tracing extension: <c>traceparent</c>, <c>tracestate</c>),
/// so one trace spans HTTP request → published event → handler, across processes.
/// </summary>
public static class EventTracing
{
    public const string TraceParent = "traceparent";
    public const string TraceState = "tracestate";

    /// <summary>Attaches the current activity's context unless the event already carries one.</summary>
    public static void Inject(CloudEvent cloudEvent)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var current = Activity.Current;
        if (current is null || current.IdFormat != ActivityIdFormat.W3C || cloudEvent.ExtensionAttributes.ContainsKey(TraceParent))
        {
            return;
        }

        cloudEvent.ExtensionAttributes[TraceParent] = current.Id!;
        if (!string.IsNullOrEmpty(current.TraceStateString))
        {
            cloudEvent.ExtensionAttributes[TraceState] = current.TraceStateString;
        }
    }

    /// <summary>Reads the trace context an event carries, if any.</summary>
    public static ActivityContext Extract(CloudEvent cloudEvent)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        if (cloudEvent.ExtensionAttributes.TryGetValue(TraceParent, out var parent) && parent is string traceParent)
        {
            var traceState = cloudEvent.ExtensionAttributes.TryGetValue(TraceState, out var state) ? state as string : null;
            if (ActivityContext.TryParse(traceParent, traceState, out var context))
            {
                return context;
            }
        }

        return default;
    }

    /// <summary>Starts the publish span (a producer child of the current activity) and injects it into the event.</summary>
    public static Activity? StartPublish(string topic, CloudEvent cloudEvent)
    {
        ArgumentNullException.ThrowIfNull(cloudEvent);
        var parent = cloudEvent.ExtensionAttributes.ContainsKey(TraceParent) ? Extract(cloudEvent) : default;
        var activity = parent == default
            ? ServerlessTelemetry.Source.StartActivity($"publish {topic}", ActivityKind.Producer)
            : ServerlessTelemetry.Source.StartActivity($"publish {topic}", ActivityKind.Producer, parent);
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "serverless");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.message.id", cloudEvent.Id);
            activity.SetTag("cloudevents.event_type", cloudEvent.Type);
            cloudEvent.ExtensionAttributes[TraceParent] = activity.Id!;
        }

        return activity;
    }

    /// <summary>Starts the handler span as a consumer child of the trace the event carries.</summary>
    public static Activity? StartHandle(string topic, string subscription, CloudEvent cloudEvent)
    {
        var activity = ServerlessTelemetry.Source.StartActivity($"handle {topic}", ActivityKind.Consumer, Extract(cloudEvent));
        if (activity is not null)
        {
            activity.SetTag("messaging.system", "serverless");
            activity.SetTag("messaging.destination.name", topic);
            activity.SetTag("messaging.consumer.group.name", subscription);
            activity.SetTag("messaging.message.id", cloudEvent.Id);
            activity.SetTag("cloudevents.event_type", cloudEvent.Type);
            if (cloudEvent.Subject is { } subject)
            {
                // What the event is about (a run id, an order id): lets a trace be found by its business key.
                activity.SetTag("cloudevents.event_subject", subject);
            }
        }

        return activity;
    }
}
