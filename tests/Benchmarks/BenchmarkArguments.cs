using System.Globalization;

namespace Serverless.Benchmarks;

internal sealed record BenchmarkArguments(string Command, IReadOnlyDictionary<string, string> Options)
{
    public static BenchmarkArguments Parse(string[] args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        return new BenchmarkArguments(args.Length > 0 ? args[0] : string.Empty, options);
    }

    public string Get(string name, string fallback) => Options.TryGetValue(name, out var value) ? value : fallback;

    public int GetInt(string name, int fallback) => Options.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    /// <summary>
    /// Settings of an in-process benchmark host: its data directory, warnings only, no timers, and with
    /// <c>--profile distributed</c> the <see cref="ProfileSettings"/>.
    /// </summary>
    public List<string> HostSettings(DirectoryInfo directory) =>
        [$"--Serverless:DataDirectory={directory.FullName}", "--Logging:LogLevel:Default=Warning", "--Serverless:Timers:Enabled=false", .. ProfileSettings()];

    /// <summary><c>--profile distributed</c>: PostgreSQL (a fresh schema) and RabbitMQ of tests/servers.sh; embedded (the default): none.</summary>
    public IReadOnlyList<string> ProfileSettings() => Get("profile", "embedded") == "distributed"
        ?
        [
            "--Serverless:Profile=distributed",
            $"--Serverless:PostgresSchema=bench_{Guid.NewGuid().ToString("N")[..10]}",
            $"--ConnectionStrings:Postgres={Require("SERVERLESS_TEST_POSTGRES")}",
            $"--ConnectionStrings:RabbitMq={Require("SERVERLESS_TEST_RABBITMQ")}",
        ]
        : [];

    public static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: start the servers with tests/servers.sh start.");
}
