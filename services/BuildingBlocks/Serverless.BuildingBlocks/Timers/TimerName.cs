using System.Text.RegularExpressions;
using Serverless.BuildingBlocks.Hosting;

namespace Serverless.BuildingBlocks.Timers;

/// <summary>
/// A timer's name is its identity in the state store key and the clustered scheduler's tables, so it is
/// kept short and plain.
/// </summary>
internal static partial class TimerName
{
    public const int MaxLength = 100;

    public static string Validate(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return Pattern().IsMatch(name)
            ? name
            : throw new ServerlessConfigurationException($"Timers:{name}", $"'{name}' is not a valid timer name: use 1-{MaxLength} characters of A-Z, a-z, 0-9, '.', '_' and '-', starting with a letter or digit.");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
