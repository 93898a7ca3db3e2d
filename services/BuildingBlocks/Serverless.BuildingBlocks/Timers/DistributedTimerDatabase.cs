using Npgsql;
using Serverless.BuildingBlocks.Hosting;
using Serverless.BuildingBlocks.Postgres;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>The PostgreSQL database the clustered scheduler keeps its tables in, inside the configured schema.</summary>
internal sealed class DistributedTimerDatabase : IAsyncDisposable
{
    private const string Setting = "ConnectionStrings:Postgres";

    private readonly NpgsqlDataSource _dataSource;

    public DistributedTimerDatabase(string connectionString, string schema)
    {
        Schema = PostgresSchemaName.Validate(schema);
        QuartzConnectionString = ConnectionStringFor(connectionString, Schema);
        _dataSource = NpgsqlDataSource.Create(QuartzConnectionString);
    }

    public string Schema { get; }

    /// <summary>The connection string with the search path set to the schema.</summary>
    public string QuartzConnectionString { get; }

    /// <summary>Quartz names its tables without a schema; the search path puts them in ours.</summary>
    public static string ConnectionStringFor(string connectionString, string schema)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ServerlessConfigurationException(Setting, "it is not a valid Npgsql connection string.", ex);
        }

        builder.SearchPath = PostgresSchemaName.Validate(schema);
        return builder.ConnectionString;
    }

    /// <summary>Creates the schema if needed, serialised by an advisory lock so nodes may start together.</summary>
    public async Task EnsureSchemaAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using var command = connection.CreateCommand();
            command.CommandText = $"SELECT pg_advisory_xact_lock(7337002); CREATE SCHEMA IF NOT EXISTS {Schema};";
            await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            throw new ServerlessConfigurationException(Setting, $"PostgreSQL is unreachable or refused the connection ({ex.Message}).", ex);
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Postgres.PostgresDataSource.PingAsync(_dataSource, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            return false;
        }
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
