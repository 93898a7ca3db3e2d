using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Serverless.BuildingBlocks.Telemetry;

public static class TelemetryRegistration
{
    private static readonly string[] TraceSources = [ServerlessTelemetry.Name, "Microsoft.AspNetCore", "MassTransit"];
    private static readonly string[] Meters = [ServerlessTelemetry.Name, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "MassTransit"];
    private static readonly Lazy<ActivityListener> PropagationListener = new(() =>
    {
        // Without an exporter nobody listens, and then no Activity exists to carry trace context from an HTTP
        // request into the events it publishes. This listener creates them (unrecorded) so context always flows.
        var listener = new ActivityListener
        {
            ShouldListenTo = source => Array.IndexOf(TraceSources, source.Name) >= 0,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.PropagationData,
        };
        ActivitySource.AddActivityListener(listener);
        return listener;
    });

    /// <summary>
    /// Traces and metrics via ActivitySource/Meter, exported over OTLP when <c>OTEL_EXPORTER_OTLP_ENDPOINT</c>
    /// (or <c>Serverless:Telemetry:OtlpEndpoint</c>) is set; trace context propagates either way.
    /// </summary>
    public static IHostApplicationBuilder AddServerlessTelemetry(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        _ = PropagationListener.Value;
        var endpoint = builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] ?? builder.Configuration["Serverless:Telemetry:OtlpEndpoint"];
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return builder;
        }

        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri))
        {
            throw new Hosting.ServerlessConfigurationException("OTEL_EXPORTER_OTLP_ENDPOINT", $"'{endpoint}' is not an absolute URI.");
        }

        var resource = ResourceBuilder.CreateDefault().AddService(builder.Environment.ApplicationName);
        builder.Services.AddSingleton(_ => Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(TraceSources)
            .AddOtlpExporter(o => o.Endpoint = uri)
            .Build());
        builder.Services.AddSingleton(_ => Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(Meters)
            .AddOtlpExporter(o => o.Endpoint = uri)
            .Build());
        builder.Services.AddHostedService<TelemetryProviders>();
        return builder;
    }

    /// <summary>Builds the providers at start-up (they are disposed, and flushed, with the container).</summary>
    private sealed class TelemetryProviders(TracerProvider tracer, MeterProvider meter) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(tracer);
            GC.KeepAlive(meter);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
