using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Postgres;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.Sqlite;

namespace Serverless.BuildingBlocks.State;

public static class StateServiceCollectionExtensions
{
    /// <summary>
    /// Registers the state store, the outbox relay and the TTL sweeper for the chosen profile.
    /// Embedded: SQLite at {DataDirectory}/serverless.db. Distributed: PostgreSQL (schema Serverless:PostgresSchema).
    /// </summary>
    internal static IServiceCollection AddStateStore(this IServiceCollection services, ServerlessOptions options, string? postgresConnectionString)
    {
        services.AddSingleton(sp => new OutboxSignal(sp.GetService<TopicRegistry>()));
        if (options.Profile == ServerlessProfile.Embedded)
        {
            services.AddSingleton(sp => new SqliteDatabase(Path.Combine(options.DataDirectory, "serverless.db"), sp.GetRequiredService<ILogger<SqliteDatabase>>()));
            services.AddSingleton(sp => SqliteStateStore.OpenAsync(sp.GetRequiredService<SqliteDatabase>(), sp.GetRequiredService<OutboxSignal>(), sp.GetService<TimeProvider>()).GetAwaiter().GetResult());
            services.AddSingleton<IStateStore>(sp => sp.GetRequiredService<SqliteStateStore>());
            services.AddSingleton<IOutboxStore>(sp => sp.GetRequiredService<SqliteStateStore>());
            services.AddHostedService(sp => new ExpiredStateSweeper(sp.GetRequiredService<SqliteStateStore>().SweepExpiredAsync, sp.GetRequiredService<ILogger<ExpiredStateSweeper>>()));
        }
        else
        {
            var connectionString = postgresConnectionString ?? throw new ServerlessConfigurationException("ConnectionStrings:Postgres", "the distributed profile needs a PostgreSQL connection string.");
            services.AddSingleton(_ => PostgresDataSource.Create(connectionString));
            services.AddSingleton(sp => OpenPostgres(sp, options));
            services.AddSingleton<IStateStore>(sp => sp.GetRequiredService<PostgresStateStore>());
            services.AddSingleton<IOutboxStore>(sp => sp.GetRequiredService<PostgresStateStore>());
            services.AddHostedService(sp => new ExpiredStateSweeper(sp.GetRequiredService<PostgresStateStore>().SweepExpiredAsync, sp.GetRequiredService<ILogger<ExpiredStateSweeper>>()));
        }

        // Rows no relay can ever publish become dead letters (when pub/sub is registered: it owns the dead-letter store).
        services.AddHostedService(sp => new OutboxRelay(
            sp.GetRequiredService<IOutboxStore>(),
            sp.GetRequiredService<IEventPublisher>(),
            sp.GetRequiredService<OutboxSignal>(),
            sp.GetRequiredService<ILogger<OutboxRelay>>(),
            sp.GetService<DeadLetterStore>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System,
            options.PubSub.OutboxUnknownTopicGrace));
        return services;
    }

    private static PostgresStateStore OpenPostgres(IServiceProvider services, ServerlessOptions options)
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            return PostgresStateStore.OpenAsync(services.GetRequiredService<NpgsqlDataSource>(), options.PostgresSchema, services.GetRequiredService<OutboxSignal>(), timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new ServerlessConfigurationException("ConnectionStrings:Postgres", $"PostgreSQL is unreachable or refused the connection ({ex.Message}).", ex);
        }
    }
}
