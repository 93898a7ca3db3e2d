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
}
