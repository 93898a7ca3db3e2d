using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Serverless.BuildingBlocks.Telemetry;

/// <summary>The platform's ActivitySource and Meter (exported over OTLP when an endpoint is configured).</summary>
public static class ServerlessTelemetry
{
    public const string Name = "Serverless";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> EventsPublished = Meter.CreateCounter<long>("serverless.events.published", description: "Events accepted by the pub/sub transport");

    public static readonly Counter<long> EventsHandled = Meter.CreateCounter<long>("serverless.events.handled", description: "Events a subscription handled successfully");

    public static readonly Counter<long> EventsDeadLettered = Meter.CreateCounter<long>("serverless.events.deadlettered", description: "Events moved to a dead-letter after their last retry");

    public static readonly Histogram<double> HandlerDuration = Meter.CreateHistogram<double>("serverless.events.handler.duration", "ms", "Time a handler took per attempt");

    public static readonly Counter<long> TimerFirings = Meter.CreateCounter<long>("serverless.timers.firings", description: "Timer function runs");
}
