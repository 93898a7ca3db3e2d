using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Sqlite;
using Serverless.BuildingBlocks.State;

namespace Serverless.BuildingBlocks.PubSub;

public static class PubSubServiceCollectionExtensions
{
    /// <summary>
    /// Declares a topic this process publishes to, and the CloudEvent types its events carry (exact names,
    /// <c>prefix.*</c> families or <c>*</c>; none: the topic's own name). Subscribed topics are declared implicitly.
    /// </summary>
    /// <exception cref="InvalidTopicNameException">The name breaks the naming rules.</exception>
    /// <exception cref="ArgumentException">An event type is not a type name, a <c>prefix.*</c> family or <c>*</c>.</exception>
    public static IServiceCollection AddTopic(this IServiceCollection services, string name, string? description = null, IReadOnlyList<string>? eventTypes = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        TopicRegistry.ValidateName(name);
        foreach (var type in eventTypes ?? [])
        {
            TopicRegistry.ValidateEventTypePattern(name, type);
        }

        services.AddSingleton(new TopicDescriptor(name, description, eventTypes?.ToList()));
        return services;
    }

    /// <summary>
    /// Subscribes <typeparamref name="THandler"/> to <paramref name="topic"/> under the name <paramref name="subscription"/>.
    /// Every subscription gets every event of its topic; processes registering the same subscription share its events.
    /// The handler is resolved from a new DI scope for every attempt.
    /// </summary>
    /// <exception cref="InvalidTopicNameException">A name breaks the naming rules.</exception>
    public static IServiceCollection AddSubscription<THandler>(this IServiceCollection services, string topic, string subscription)
        where THandler : class, ISubscriptionHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        TopicRegistry.ValidateName(topic);
        TopicRegistry.ValidateName(subscription);
        services.AddSingleton(new SubscriptionDescriptor(subscription, topic, typeof(THandler)));
        services.TryAddScoped<THandler>();
        return services;
    }

    /// <summary>
    /// Registers pub/sub for the profile: <see cref="IEventPublisher"/>, <see cref="IDeadLetterQueue"/>,
    /// <see cref="IIdempotencyGuard"/>, <see cref="IPubSubHealth"/> and the hosted service running the bus.
    /// Embedded needs a <see cref="SqliteDatabase"/> singleton (the ledger); both profiles need an
    /// <see cref="IStateStore"/> singleton (dead letters, idempotency markers).
    /// </summary>
    /// <exception cref="ServerlessConfigurationException">Distributed without a RabbitMQ URI, or invalid pub/sub options.</exception>
    internal static IServiceCollection AddPubSub(this IServiceCollection services, ServerlessOptions options, string? rabbitMqUri)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var pubSub = options.PubSub;
        Validate(pubSub);

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new TopicRegistry(sp.GetServices<TopicDescriptor>(), sp.GetServices<SubscriptionDescriptor>()));
        services.TryAddSingleton(sp => new DeadLetterStore(sp.GetRequiredService<IStateStore>(), sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(sp => new EventDispatcher(
            sp.GetRequiredService<IServiceScopeFactory>(),
            sp.GetRequiredService<DeadLetterStore>(),
            pubSub,
            sp.GetRequiredService<TimeProvider>(),
            Logger<EventDispatcher>(sp)));
        services.TryAddSingleton<IIdempotencyGuard>(sp => new StateStoreIdempotencyGuard(sp.GetRequiredService<IStateStore>()));

        switch (options.Profile)
        {
            case ServerlessProfile.Embedded:
                services.TryAddSingleton(sp => new EventLedger(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<TimeProvider>(), Logger<EventLedger>(sp)));
                services.TryAddSingleton<PubSubTransport>(sp =>
                {
                    var transport = new EmbeddedTransport(
                        sp.GetRequiredService<TopicRegistry>(),
                        sp.GetRequiredService<EventDispatcher>(),
                        pubSub,
                        sp.GetRequiredService<EventLedger>(),
                        LoggerFactory(sp));

                    // State and ledger share the SQLite file: events committed with state go straight to the ledger.
                    if (sp.GetService<SqliteStateStore>() is { } store && ReferenceEquals(store.Database, sp.GetRequiredService<SqliteDatabase>()))
                    {
                        store.InlinePublisher = transport;
                    }

                    return transport;
                });
                break;
            case ServerlessProfile.Distributed:
                var broker = ParseBroker(rabbitMqUri);
                services.TryAddSingleton<PubSubTransport>(sp => new RabbitMqTransport(
                    sp.GetRequiredService<TopicRegistry>(),
                    sp.GetRequiredService<EventDispatcher>(),
                    pubSub,
                    broker,
                    pubSub.Namespace ?? options.PostgresSchema,
                    LoggerFactory(sp)));
                break;
            default:
                throw new ServerlessConfigurationException("Serverless:Profile", $"'{options.Profile}' is not a profile pub/sub supports.");
        }

        services.TryAddSingleton<IEventPublisher>(sp => sp.GetRequiredService<PubSubTransport>());
        services.TryAddSingleton<IPubSubHealth>(sp => sp.GetRequiredService<PubSubTransport>());
        services.TryAddSingleton<ISubscriptionRedelivery>(sp => sp.GetRequiredService<PubSubTransport>());
        services.TryAddSingleton<IDeadLetterQueue>(sp => new DeadLetterQueue(
            sp.GetRequiredService<DeadLetterStore>(),
            sp.GetRequiredService<TopicRegistry>(),
            sp.GetRequiredService<ISubscriptionRedelivery>(),
            sp.GetRequiredService<IEventPublisher>()));
        services.AddHostedService(sp => sp.GetRequiredService<PubSubTransport>());
        return services;
    }

    private static Uri ParseBroker(string? rabbitMqUri)
    {
        if (string.IsNullOrWhiteSpace(rabbitMqUri))
        {
            throw new ServerlessConfigurationException(RabbitMqTransport.BrokerSetting, "the distributed profile needs a RabbitMQ URI (amqp://user:password@host:port/vhost).");
        }

        if (!Uri.TryCreate(rabbitMqUri, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps" or "rabbitmq" or "rabbitmqs"))
        {
            throw new ServerlessConfigurationException(RabbitMqTransport.BrokerSetting, "not an amqp:// or amqps:// URI.");
        }

        return uri;
    }

    private static void Validate(PubSubOptions options)
    {
        const string Section = "Serverless:PubSub:";
        if (options.MaxRetries < 0)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.MaxRetries), "must be 0 or more.");
        }

        if (options.InitialBackoff < TimeSpan.Zero || options.MaxBackoff < options.InitialBackoff)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.MaxBackoff), "backoffs must be positive and MaxBackoff at least InitialBackoff.");
        }

        if (options.BackoffMultiplier < 1.0)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.BackoffMultiplier), "must be 1.0 or more.");
        }

        if (options.ConcurrencyPerSubscription < 1)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.ConcurrencyPerSubscription), "must be 1 or more.");
        }

        if (options.PrefetchCount < 1)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.PrefetchCount), "must be 1 or more.");
        }

        if (options.OutboxUnknownTopicGrace < TimeSpan.Zero)
        {
            throw new ServerlessConfigurationException(Section + nameof(options.OutboxUnknownTopicGrace), "must be 0 or more.");
        }
    }

    private static ILogger<T> Logger<T>(IServiceProvider services) => LoggerFactory(services).CreateLogger<T>();

    private static ILoggerFactory LoggerFactory(IServiceProvider services) => services.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
}
