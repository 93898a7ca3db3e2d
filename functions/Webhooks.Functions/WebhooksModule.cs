using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.Webhooks.Functions.Apis;
using Serverless.BuildingBlocks.State;
using Serverless.Webhooks.Outbound;
using Serverless.Webhooks.Service.Delivery;
using Serverless.Webhooks.Service.Endpoints;
using Serverless.Webhooks.Service.Inbound;
using Serverless.Webhooks.Service.RateLimiting;
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
        var retention = builder.Configuration.GetValue<TimeSpan?>("Webhooks:Inbound:ReceiptRetention");
        var derivedIdWindow = PositiveTimeSpan(builder.Configuration, "Webhooks:Inbound:DerivedIdDeduplicationWindow");

        services.AddSingleton(sp => new ReceiptLedger(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), retention: retention, derivedIdWindow: derivedIdWindow));
        services.AddSingleton(sp => new WebhookSourceStore(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), builder.Configuration));
        services.AddSingleton(sp => new SharedRateLimiter(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<WebhookReceiver>();
        services.AddSingleton(new OutboundDestinationPolicy(ReadAllowList(builder.Configuration)));
        var deliveredTopics = DeliveredTopics(builder.Configuration);
        var configuredTypes = ReadConfiguredEventTypes(builder.Configuration, deliveredTopics);
        services.AddSingleton(sp => Catalogue(
            sp.GetRequiredService<TopicRegistry>(), deliveredTopics, configuredTypes));
        services.AddSingleton(sp => new EndpointRegistry(
            sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<OutboundDestinationPolicy>(), catalogue: sp.GetRequiredService<EventTypeCatalogue>()));
        services.AddOutboundDelivery(builder.Configuration, deliveredTopics);
        return builder;
    }

    public static WebApplication MapWebhooks(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapInboundApi();
        app.MapSourcesApi();
        app.MapReceiptsApi();
        app.MapEndpointsApi();
        app.MapDeliveriesApi();
        app.MapEventTypesApi();
        return app;
    }

    /// <summary>
    /// The delivery worker: a subscription per delivered topic (<c>Webhooks:Outbound:Topics</c>) that turns events
    /// into deliveries, and the dispatcher that attempts them on the retry schedule (<c>Webhooks:Outbound:RetryDelays</c>,
    /// <c>Webhooks:Outbound:TimeoutSeconds</c>; a crashed worker's claims come back after <c>Webhooks:Outbound:LeaseSeconds</c>;
    /// each endpoint's circuit breaker per <c>Webhooks:Outbound:CircuitBreaker</c>;
    /// an endpoint with no success for <c>Webhooks:Outbound:DisableAfter</c>, 5 days by default, is disabled; delivered and
/// failed deliveries are kept for <c>Webhooks:Outbound:DeliveryRetention</c>, 30 days by default).
    /// </summary>
    private static void AddOutboundDelivery(this IServiceCollection services, IConfiguration configuration, IReadOnlyList<string> deliveredTopics)
    {
        var outbound = configuration.GetSection("Webhooks:Outbound");
        var delays = outbound.GetSection("RetryDelays").GetChildren().Select(c => TimeSpan.Parse(c.Value!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        var retry = delays.Count > 0 ? new RetryScheduleOptions { Delays = delays } : new RetryScheduleOptions();
        var http = new OutboundHttpOptions { Timeout = TimeSpan.FromSeconds(outbound.GetValue<double?>("TimeoutSeconds") ?? 15) };
        services.AddSingleton(new DeliveryRetryPolicy(retry));
        services.AddSingleton<DeliverySignal>();
        var disableAfter = outbound.GetValue<TimeSpan?>("DisableAfter");
        services.AddSingleton(sp => new EndpointFailureClock(sp.GetRequiredService<IStateStore>(), disableAfter));
        var lease = outbound.GetValue<double?>("LeaseSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : (TimeSpan?)null;
        var deliveryRetention = PositiveTimeSpan(configuration, "Webhooks:Outbound:DeliveryRetention");

        services.AddSingleton(sp => new DeliveryBook(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>(), lease, deliveryRetention));
        services.AddSingleton(sp => new DeliveryAttempter(
            OutboundHttpHandlerFactory.CreateClient(sp.GetRequiredService<OutboundDestinationPolicy>(), http),
            sp.GetRequiredService<DeliveryRetryPolicy>(),
            sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton(ReadConcurrency(outbound));
        services.AddSingleton(ReadCircuitBreaker(outbound));
        services.AddSingleton<DeliveryDispatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<DeliveryDispatcher>());
        foreach (var topic in deliveredTopics)
        {
            services.AddSubscription<DeliveryFanout>(topic, "webhooks.deliver." + topic);
        }
    }

    /// <summary>An optional duration setting that must be positive when given.</summary>
    private static TimeSpan? PositiveTimeSpan(IConfiguration configuration, string key)
    {
        var value = configuration.GetValue<TimeSpan?>(key);
        if (value is { } given && given <= TimeSpan.Zero)
        {
            throw new ServerlessConfigurationException(key, "must be positive");
        }

        return value;
    }

    /// <summary><c>Webhooks:Outbound:Topics</c>, or <see cref="DefaultDeliveredTopics"/> when it names none.</summary>
    private static List<string> DeliveredTopics(IConfiguration configuration)
    {
        var topics = configuration.GetSection("Webhooks:Outbound:Topics").GetChildren().Select(c => c.Value!).ToList();
        return topics.Count > 0 ? topics : [.. DefaultDeliveredTopics];
    }

    /// <summary>
    /// <c>Webhooks:Outbound:EventTypes:&lt;topic&gt;</c>: declares the event types a delivered topic carries (with any the
    /// modules in this process declare for it), for a host that delivers topics published by modules it does not load
    /// (a stand-alone webhooks host knows <c>pipeline.run.finished</c> only by name).
    /// </summary>
    private static Dictionary<string, List<string>> ReadConfiguredEventTypes(IConfiguration configuration, IReadOnlyList<string> deliveredTopics)
    {
        const string Setting = "Webhooks:Outbound:EventTypes";
        var configured = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var topic in configuration.GetSection(Setting).GetChildren())
        {
            if (!deliveredTopics.Contains(topic.Key, StringComparer.Ordinal))
            {
                throw new ServerlessConfigurationException($"{Setting}:{topic.Key}", "is not a delivered topic (Webhooks:Outbound:Topics).");
            }

            var types = topic.GetChildren().Select(c => c.Value ?? string.Empty).ToList();
            if (types.FirstOrDefault(t => EventTypeFilter.Validate(t) is not null) is { } bad)
            {
                throw new ServerlessConfigurationException($"{Setting}:{topic.Key}", $"'{bad}' is not an event type, a 'prefix.*' family or '*'.");
            }

            configured[topic.Key] = types;
        }

        return configured;
    }

    /// <summary>
    /// The event types outbound endpoints can receive: for each delivered topic, the types the modules in this process
    /// and the configuration declare for it; a topic neither declares types for carries its own name.
    /// </summary>
    private static EventTypeCatalogue Catalogue(TopicRegistry registry, IReadOnlyList<string> deliveredTopics, Dictionary<string, List<string>> configuredTypes)
    {
        var entries = new List<DeliverableEventType>();
        foreach (var topic in deliveredTopics)
        {
            var declared = registry.Topics.FirstOrDefault(t => t.Name == topic) ?? new TopicDescriptor(topic);
            var types = (declared.EventTypes ?? []).Concat(configuredTypes.GetValueOrDefault(topic) ?? []).ToList();
            var carried = types.Count > 0 ? types : declared.CarriedEventTypes;
            entries.AddRange(carried.Select(type => new DeliverableEventType(type, topic, declared.Description)));
        }

        return new EventTypeCatalogue(entries);
    }

    private static DeliveryConcurrency ReadConcurrency(IConfiguration outbound)
    {
        var defaults = new DeliveryConcurrency();
        var total = outbound.GetValue<int?>("MaxInFlight") ?? defaults.MaxInFlight;
        var perEndpoint = outbound.GetValue<int?>("MaxInFlightPerEndpoint") ?? defaults.MaxInFlightPerEndpoint;
        if (total < 1)
        {
            throw new ServerlessConfigurationException("Webhooks:Outbound:MaxInFlight", "must be at least 1");
        }

        if (perEndpoint < 1 || perEndpoint > total)
        {
            throw new ServerlessConfigurationException("Webhooks:Outbound:MaxInFlightPerEndpoint", $"must be between 1 and Webhooks:Outbound:MaxInFlight ({total})");
        }

        return new DeliveryConcurrency(total, perEndpoint);
    }

    /// <summary>
    /// <c>Webhooks:Outbound:CircuitBreaker:FailureThreshold</c> (consecutive failures that open an endpoint's circuit, default 5)
    /// and <c>:CoolDown</c> (how long it stays open, default 1 min; tests use seconds).
    /// </summary>
    private static CircuitBreakerOptions ReadCircuitBreaker(IConfiguration outbound)
    {
        var section = outbound.GetSection("CircuitBreaker");
        var defaults = new CircuitBreakerOptions();
        var threshold = section.GetValue<int?>("FailureThreshold") ?? defaults.FailureThreshold;
        var coolDown = section.GetValue<TimeSpan?>("CoolDown") ?? defaults.CoolDown;
        if (threshold < 1)
        {
            throw new ServerlessConfigurationException("Webhooks:Outbound:CircuitBreaker:FailureThreshold", "must be at least 1");
        }

        if (coolDown < TimeSpan.Zero)
        {
            throw new ServerlessConfigurationException("Webhooks:Outbound:CircuitBreaker:CoolDown", "must not be negative");
        }

        return new CircuitBreakerOptions { FailureThreshold = threshold, CoolDown = coolDown };
    }

    /// <summary>The platform events outbound endpoints can subscribe to unless configuration names others.</summary>
    public static readonly IReadOnlyList<string> DefaultDeliveredTopics =
    [
        WebhookTopics.ScmPush, WebhookTopics.AlertsReceived, WebhookTopics.EndpointDisabled,
        "pipeline.run.started", "pipeline.run.finished", "pipeline.step.started", "pipeline.step.finished",
        "promotion.activated", "promotion.ended", "promotion.settled", "promotion.settlement.adjusted", "promotion.budget.threshold",
    ];

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
