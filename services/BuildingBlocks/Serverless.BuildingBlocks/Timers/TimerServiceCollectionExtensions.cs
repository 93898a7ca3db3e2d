using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Quartz;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Timers;

public static class TimerServiceCollectionExtensions
{
    /// <summary>
    /// Registers a timer-triggered function (Azure Functions timer trigger semantics). The schedule is an
    /// NCrontab expression with seconds, "sec min hour day month weekday", read in <paramref name="timeZone"/>
    /// (an IANA id such as "Europe/Berlin"; UTC by default). <typeparamref name="TFunction"/> is resolved
    /// from a fresh DI scope for every firing. A bad name, schedule or time zone throws
    /// <see cref="ServerlessConfigurationException"/> here, naming the timer and the expression.
    /// </summary>
    /// <param name="name">Unique across every process sharing the state store or PostgreSQL schema: it is the timer's identity.</param>
    public static IServiceCollection AddTimer<TFunction>(this IServiceCollection services, string name, string schedule, string timeZone = "UTC")
        where TFunction : class, ITimerFunction
    {
        ArgumentNullException.ThrowIfNull(services);
        TimerName.Validate(name);
        var parsed = CronSchedule.Parse(name, schedule, timeZone);
        foreach (var service in services)
        {
            if (service.ServiceType == typeof(TimerDescriptor) && service.ImplementationInstance is TimerDescriptor existing
                && string.Equals(existing.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                throw new ServerlessConfigurationException($"Timers:{name}", $"a timer named '{existing.Name}' is already registered (for {existing.FunctionType.Name}); timer names must be unique.");
            }
        }

        services.AddSingleton(new TimerDescriptor(name, parsed.Expression, timeZone, typeof(TFunction)));
        services.TryAddScoped<TFunction>();
        return services;
    }

    /// <summary>
    /// Registers the engine that fires this process's timers: in-process timers with their status in the
    /// state store for the embedded profile, a Quartz scheduler clustered on PostgreSQL for the distributed
    /// one, and nothing that fires when <c>Serverless:Timers:Enabled</c> is false. Adds the "timers" check to /readyz.
    /// </summary>
    internal static IServiceCollection AddTimerEngine(this IServiceCollection services, ServerlessOptions options, string? postgresConnectionString)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddTimerEngine(options, postgresConnectionString, new TimerEngineSettings { PastDueThreshold = options.Timers.PastDueThreshold });
    }

    internal static IServiceCollection AddTimerEngine(this IServiceCollection services, ServerlessOptions options, string? postgresConnectionString, TimerEngineSettings settings)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(settings);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TimerRegistry>();
        services.TryAddSingleton<TimerFunctionRunner>();
        services.AddSingleton(settings);
        services.AddHealthChecks().AddCheck<TimerReadinessCheck>("timers", tags: ["ready"]);

        if (!options.Timers.Enabled)
        {
            services.AddSingleton<ITimerEngine, DisabledTimerEngine>();
            return services;
        }

        if (options.Profile == ServerlessProfile.Embedded)
        {
            services.AddSingleton<EmbeddedTimerEngine>();
            services.AddSingleton<ITimerEngine>(sp => sp.GetRequiredService<EmbeddedTimerEngine>());
            services.AddHostedService(sp => sp.GetRequiredService<EmbeddedTimerEngine>());
            return services;
        }

        var connectionString = postgresConnectionString
            ?? throw new ServerlessConfigurationException("ConnectionStrings:Postgres", "the distributed profile runs its timers on PostgreSQL and needs a connection string.");
        var quartzConnectionString = DistributedTimerDatabase.ConnectionStringFor(connectionString, options.PostgresSchema);
        services.AddSingleton(_ => new DistributedTimerDatabase(connectionString, options.PostgresSchema));
        services.AddQuartz(QuartzTimerTriggers.SchedulerName, quartz => quartz
            .UsePersistentStore(store =>
            {
                store.UsePostgres(quartzConnectionString);
                store.UseClustering(clustering =>
                {
                    clustering.CheckinInterval = settings.CheckinInterval;
                    clustering.CheckinMisfireThreshold = settings.CheckinMisfireThreshold;
                });
                store.UseSystemTextJsonSerializer();
                store.ConfigureStore(job => job.MisfireThreshold = settings.MisfireThreshold);
                store.ProvisionSchema();
            }));

        // Options rather than the builder above, because timers may be registered after the engine.
        services.AddOptions<QuartzSchedulerOptions>(QuartzTimerTriggers.SchedulerName).Configure<TimerRegistry>((scheduler, registry) =>
        {
            scheduler.InstanceId = options.ResolveInstanceId();
            scheduler.IdleWaitTime = settings.IdleWaitTime;
            scheduler.ShutdownJobInterruption = ShutdownJobInterruption.WhenWaitingForJobs;
            foreach (var timer in registry.Timers)
            {
                scheduler.ServedExecutionGroups.Add(QuartzTimerTriggers.ExecutionGroupOf(timer.Name));
            }
        });

        services.AddSingleton<DistributedTimerEngine>();
        services.AddSingleton<ITimerEngine>(sp => sp.GetRequiredService<DistributedTimerEngine>());
        services.AddHostedService(sp => sp.GetRequiredService<DistributedTimerEngine>());
        return services;
    }
}
