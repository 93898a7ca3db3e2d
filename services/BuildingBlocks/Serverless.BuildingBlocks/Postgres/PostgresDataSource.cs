using Npgsql;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Postgres;

public static class PostgresDataSource
{
    /// <summary>
    /// The data source every PostgreSQL building block shares. Statements are auto-prepared, and pooled
    /// connections skip the reset round trip on return: the building blocks never leave session state behind.
    /// </summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ServerlessConfigurationException("ConnectionStrings:Postgres", "it is not a valid Npgsql connection string.", ex);
        }

        if (builder.MaxAutoPrepare == 0)
        {
            builder.MaxAutoPrepare = 32;
        }

        builder.NoResetOnClose = true;
        return NpgsqlDataSource.Create(builder);
    }

    /// <summary>
    /// One round trip (<c>SELECT 1</c>). A pooled connection that a PostgreSQL restart broke fails it once even though the
    /// server answers again: then the pool's idle connections are dropped and the ping is tried once more on a fresh one,
    /// so the first readiness check after an outage nobody polled through does not take the instance out.
    /// </summary>
    public static async Task PingAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        try
        {
            await PingOnceAsync(dataSource, cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException ex) when (ex.IsTransient)
        {
            dataSource.Clear();
            await PingOnceAsync(dataSource, cancellationToken).ConfigureAwait(false);
        }
    }

    private static async Task PingOnceAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1");
        await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
    }
}
