using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Timers;
using Serverless.Pipelines.Functions.Apis;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;
using Serverless.Pipelines.Service.Triggers;
using Serverless.Pipelines.Validation;

namespace Serverless.Pipelines.Functions;

/// <summary>Plugs the pipelines capability into a host: <c>builder.AddPipelines()</c>, <c>app.MapPipelines()</c>.</summary>
public static class PipelinesModule
{
    public const string RoutePrefix = "/api/pipelines";
    public const string RunsPrefix = "/api/runs";

    public static TBuilder AddPipelines<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        var configuration = builder.Configuration;
        services.AddModule("Pipelines", "CI/CD pipelines: YAML definitions, runs (orchestrator + step runners), push and schedule triggers, approvals, deploys.", RoutePrefix, RunsPrefix);
        foreach (var topic in PipelineTopics.Published)
        {
            services.AddTopic(topic, PipelineTopics.Descriptions[topic], PipelineTopics.EventTypes[topic]);
        }

        // Publish steps reach only the allowed topics (never the platform's own); named ones are declared here. A
        // publish step's event has the step's `type`, free text defaulting to the topic's name, so such a topic may
        // carry any type.
        var publishTopics = ReadPublishTopics(configuration);
        foreach (var topic in publishTopics)
        {
            if (!topic.EndsWith(".*", StringComparison.Ordinal))
            {
                services.AddTopic(topic, "pipelines: published by publish steps (the type is the step's `type`, by default the topic)", ["*"]);
            }
        }

        services.AddSingleton(sp => new PublishTopicPolicy(publishTopics, sp.GetRequiredService<TopicRegistry>().IsKnown));
        services.AddSingleton<DefinitionStore>();
        services.AddSingleton<RunTimerSignal>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<StepLogStore>();
        services.AddSingleton(sp => ReadRunnerOptions(configuration, sp.GetRequiredService<ServerlessOptions>()));
        var allowList = ReadAllowList(configuration);
        services.AddSingleton(sp => new GuardedHttp(allowList, sp.GetRequiredService<RunnerOptions>().HttpTimeout));
        services.AddSingleton<ScriptExecutor>();
        services.AddSingleton<HttpStepExecutor>();
        services.AddSingleton<DeployGates>();
        services.AddSingleton<DeployExecutor>();

        // The orchestrator (results, due timers, triggers) and the runners; in a distributed deployment each can be its
        // own function app: Pipelines:Orchestrator:Enabled / Pipelines:Runner:Enabled (both default true) pick the roles.
        if (configuration.GetValue("Pipelines:Orchestrator:Enabled", true))
        {
            services.AddSubscription<StepResultHandler>(PipelineTopics.StepResult, StepResultHandler.Subscription);
            services.AddSubscription<PushTriggerHandler>(PipelineTopics.ScmPush, PushTriggerHandler.Subscription);
            services.AddHostedService<RunTimerService>();
            services.AddTimer<ScheduleTimer>(ScheduleTimer.Name, ScheduleTimer.Schedule);
        }

        if (configuration.GetValue("Pipelines:Runner:Enabled", true))
        {
            // One runner per process: it owns the steps running in the background after their dispatch was acknowledged.
            services.AddSingleton<RunnerSlots>();
            services.AddHostedService(sp => sp.GetRequiredService<RunnerSlots>());
            services.AddSingleton<StepRunner>();
            services.AddSubscription<StepRunner>(PipelineTopics.StepDispatch, StepRunner.Subscription);
        }

        return builder;
    }

    public static WebApplication MapPipelines(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPipelinesApi();
        app.MapRunsApi();
        return app;
    }

    /// <summary>
    /// <c>Pipelines:WorkDirectory</c> (default: the data directory's <c>pipelines</c>), <c>Pipelines:Deploy:HealthCheckAttempts</c>,
    /// <c>Pipelines:Deploy:HealthCheckInterval</c>, <c>Pipelines:Http:TimeoutSeconds</c>, <c>Pipelines:Runner:LeaseSeconds</c>
    /// (default 60), <c>Pipelines:Runner:CancelPollInterval</c> (default 00:00:00.250), <c>Pipelines:Runner:RunCheckInterval</c> (default 00:00:10), <c>Pipelines:Runner:Slots</c> (default 16), <c>Pipelines:Runner:MaxOutputBytes</c> (default 64 KiB, at least 8 KiB).
    /// </summary>
    private static RunnerOptions ReadRunnerOptions(IConfiguration configuration, ServerlessOptions serverless)
    {
        var section = configuration.GetSection("Pipelines");
        var defaults = new RunnerOptions { WorkDirectory = Path.Combine(serverless.DataDirectory, "pipelines") };
        return defaults with
        {
            WorkDirectory = section["WorkDirectory"] ?? defaults.WorkDirectory,
            InstanceName = serverless.ResolveInstanceId(),
            HealthCheckAttempts = section.GetValue<int?>("Deploy:HealthCheckAttempts") ?? defaults.HealthCheckAttempts,
            HealthCheckInterval = section.GetValue<TimeSpan?>("Deploy:HealthCheckInterval") ?? defaults.HealthCheckInterval,
            HttpTimeout = section.GetValue<double?>("Http:TimeoutSeconds") is { } seconds ? TimeSpan.FromSeconds(seconds) : defaults.HttpTimeout,
            CancelPollInterval = PositiveOrDefault(section, "Runner:CancelPollInterval", defaults.CancelPollInterval),
            RunCheckInterval = PositiveOrDefault(section, "Runner:RunCheckInterval", defaults.RunCheckInterval),
            LeaseDuration = section.GetValue<double?>("Runner:LeaseSeconds") is { } lease ? Positive("Pipelines:Runner:LeaseSeconds", TimeSpan.FromSeconds(lease)) : defaults.LeaseDuration,
            Slots = section.GetValue<int?>("Runner:Slots") is { } slots ? (slots >= 1 ? slots : throw new ServerlessConfigurationException("Pipelines:Runner:Slots", "must be 1 or more.")) : defaults.Slots,
            MaxOutputBytes = section.GetValue<int?>("Runner:MaxOutputBytes") is { } maxOutput
                ? (maxOutput >= StepOutputLimit.MinimumMaxBytes ? maxOutput : throw new ServerlessConfigurationException("Pipelines:Runner:MaxOutputBytes", $"must be at least {StepOutputLimit.MinimumMaxBytes} (an http step's body output alone is up to {StepOutputLimit.HttpBodyBytes} bytes)."))
                : defaults.MaxOutputBytes,
        };
    }

    private static TimeSpan PositiveOrDefault(IConfigurationSection section, string key, TimeSpan fallback) =>
        section.GetValue<TimeSpan?>(key) is not { } value ? fallback
        : value > TimeSpan.Zero ? value
        : throw new ServerlessConfigurationException($"Pipelines:{key}", "must be positive (a time span such as 00:00:00.250).");

    private static TimeSpan Positive(string setting, TimeSpan value) =>
        value >= TimeSpan.FromSeconds(1) ? value : throw new ServerlessConfigurationException(setting, "must be at least 1 second.");

    /// <summary>
    /// <c>Pipelines:Publish:AllowedTopics</c>: the topics publish steps may post to, exact names or <c>prefix.*</c>
    /// (default <c>pipeline.custom.*</c>). Platform topics (<c>pipeline.*</c> outside <c>pipeline.custom.*</c>, <c>scm.*</c>) cannot be listed.
    /// </summary>
    private static List<string> ReadPublishTopics(IConfiguration configuration)
    {
        const string Setting = "Pipelines:Publish:AllowedTopics";
        var entries = configuration.GetSection(Setting).GetChildren().Select(c => (c.Value ?? string.Empty).Trim()).Where(e => e.Length > 0).ToList();
        if (entries.Count == 0)
        {
            return [PublishTopicPolicy.DefaultPattern];
        }

        foreach (var entry in entries)
        {
            var isPattern = entry.EndsWith(".*", StringComparison.Ordinal);
            var name = isPattern ? entry[..^2] : entry;
            try
            {
                TopicRegistry.ValidateName(name);
            }
            catch (InvalidTopicNameException)
            {
                throw new ServerlessConfigurationException(Setting, $"'{entry}' is not a topic name or a 'prefix.*' pattern.");
            }

            if (PublishTopicPolicy.IsReserved(isPattern ? name + "." : entry))
            {
                throw new ServerlessConfigurationException(Setting, $"'{entry}' is a platform topic; publish steps may never post to pipeline.* (other than pipeline.custom.*) or scm.* topics.");
            }
        }

        return entries;
    }

    /// <summary><c>Pipelines:Http:AllowList</c>: CIDRs or addresses http and deploy steps may reach although private (tests, internal deploy APIs).</summary>
    private static List<IPNetwork> ReadAllowList(IConfiguration configuration)
    {
        const string Setting = "Pipelines:Http:AllowList";
        var list = new List<IPNetwork>();
        foreach (var entry in configuration.GetSection(Setting).GetChildren().Select(c => c.Value ?? string.Empty))
        {
            if (IPNetwork.TryParse(entry, out var network))
            {
                list.Add(network);
            }
            else if (IPAddress.TryParse(entry, out var address))
            {
                list.Add(new IPNetwork(address, address.GetAddressBytes().Length * 8));
            }
            else
            {
                throw new ServerlessConfigurationException(Setting, string.Create(CultureInfo.InvariantCulture, $"'{entry}' is not a CIDR (10.0.0.0/8) or an IP address."));
            }
        }

        return list;
    }
}
