using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Functions.Apis;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Endpoints;
using Serverless.Webhooks.Service.Inbound;
using Serverless.Webhooks.Service.Receipts;
using Serverless.Webhooks.Service.Sources;

namespace Serverless.Webhooks.Functions;

/// <summary>Plugs the webhooks capability into a host: <c>builder.AddWebhooks()</c>, <c>app.MapWebhooks()</c>.</summary>
public static class WebhooksModule
{
    public const string RoutePrefix = "/api/webhooks";

    public static TBuilder AddWebhooks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddModule("Webhooks", "Verified inbound gateway (GitHub, GitLab, Standard Webhooks, Alertmanager) and signed outbound delivery.", RoutePrefix);
        services.AddTopic(WebhookTopics.Received, "any verified inbound webhook, raw");
        services.AddTopic(WebhookTopics.ScmPush, "a git push (GitHub or GitLab), normalised");
        services.AddTopic(WebhookTopics.AlertsReceived, "an Alertmanager notification, normalised");
        services.AddTopic(WebhookTopics.EndpointDisabled, "an outbound endpoint was disabled");
        services.AddSingleton(sp => new ReceiptLedger(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(sp => new WebhookSourceStore(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), builder.Configuration));
        services.AddSingleton<WebhookReceiver>();
        services.AddSingleton(new OutboundDestinationPolicy(ReadAllowList(builder.Configuration)));
        services.AddSingleton(sp => new EndpointRegistry(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OutboundDestinationPolicy>()));
        return builder;
    }

    public static WebApplication MapWebhooks(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapInboundApi();
        app.MapSourcesApi();
        app.MapReceiptsApi();
        app.MapEndpointsApi();
        return app;
    }

    /// <summary><c>Webhooks:Outbound:AllowList</c>: CIDRs, addresses or host names outbound calls may reach although private (tests, local development).</summary>
    private static OutboundAllowList ReadAllowList(IConfiguration configuration)
    {
        const string Setting = "Webhooks:Outbound:AllowList";
        try
        {
            return new OutboundAllowList(configuration.GetSection(Setting).GetChildren().Select(c => c.Value ?? string.Empty));
        }
        catch (ArgumentException ex)
        {
            throw new ServerlessConfigurationException(Setting, ex.Message, ex);
        }
    }
}
