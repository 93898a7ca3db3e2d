using Microsoft.Data.Sqlite;
using Npgsql;

namespace Serverless.BuildingBlocks.Http;

/// <summary>
/// Failures of a backing store that say "not now" rather than "never": the request may succeed when sent again
/// (PostgreSQL unreachable, restarting or out of connections; SQLite busy or locked past its timeout).
/// </summary>
public static class TransientFailures
{
    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;

    public static bool IsTransient(Exception exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case NpgsqlException { IsTransient: true }:
                case SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked }:
                case TimeoutException:
                    return true;
            }
        }

        return false;
    }

    /// <summary>The innermost message, which names the cause (a refused connection, a timeout), without a stack trace.</summary>
    public static string Describe(Exception exception)
    {
        var messages = new List<string>();
        for (var current = exception; current is not null; current = current.InnerException)
        {
            messages.Add($"{current.GetType().Name}: {current.Message}");
        }

        return string.Join(" -> ", messages);
    }
}
