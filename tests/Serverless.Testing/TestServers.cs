using Xunit;

namespace Serverless.Testing;

/// <summary>
/// Where the real servers started by tests/run.sh listen. Without them a test is skipped locally;
/// under CI=true a missing server fails the test, never skips it.
/// </summary>
public static class TestServers
{
    public static bool InCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>An Npgsql connection string to a database the tests may create schemas in.</summary>
    public static string Postgres => Require("SERVERLESS_TEST_POSTGRES", "PostgreSQL");

    /// <summary>An amqp:// URI of a RabbitMQ broker.</summary>
    public static string RabbitMq => Require("SERVERLESS_TEST_RABBITMQ", "RabbitMQ");

    /// <summary>An Azurite Table endpoint (http://127.0.0.1:10002/devstoreaccount1).</summary>
    public static string AzuriteTables => Require("SERVERLESS_TEST_AZURITE_TABLES", "Azurite");

    private static string Require(string variable, string server)
    {
        var value = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrWhiteSpace(value))
        {
            return value;
        }

        var message = $"{server} is not available: {variable} is not set. Run the tests with tests/run.sh, which starts it.";
        if (InCi)
        {
            Assert.Fail(message);
        }

        Assert.Skip(message);
        return string.Empty;
    }
}
