using System.Text.RegularExpressions;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Postgres;

/// <summary>The schema name is spliced into SQL as an identifier, so only a strict pattern is accepted.</summary>
public static partial class PostgresSchemaName
{
    public static string Validate(string schema) =>
        Pattern().IsMatch(schema)
            ? schema
            : throw new ServerlessConfigurationException("Serverless:PostgresSchema", $"'{schema}' is not a valid schema name: use 1-48 characters of a-z, 0-9 and '_', starting with a letter or '_'.");

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,47}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
