using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Serverless.BuildingBlocks.Hosting;

namespace Integration.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public async Task An_otlp_endpoint_turns_on_trace_and_metric_export()
    {
        await using var host = new LocalHost(settings: new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:4317" });
        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
    }

    [Fact]
    public async Task Without_an_endpoint_nothing_is_exported()
    {
        await using var host = new LocalHost();
        Assert.Null(host.Services.GetService<TracerProvider>());
    }

    [Fact]
    public void A_malformed_endpoint_names_the_setting()
    {
        using var host = new LocalHost(settings: new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "not a uri" });
        var error = Assert.ThrowsAny<Exception>(() => host.Server);
        while (error is not ServerlessConfigurationException && error.InnerException is not null)
        {
            error = error.InnerException;
        }

        Assert.Equal("OTEL_EXPORTER_OTLP_ENDPOINT", Assert.IsType<ServerlessConfigurationException>(error).Setting);
    }
}
