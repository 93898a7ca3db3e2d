namespace Serverless.Pipelines.Definitions;

/// <summary>
/// Runs <see cref="Run"/> in a shell. The command text is never interpolated: values reach the script through
/// <see cref="Env"/>, whose values are templates, so a parameter cannot inject shell syntax.
/// </summary>
public sealed record ScriptStep : StepSpec
{
    public required string Run { get; init; }

    public string? Shell { get; init; }

    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();

    public string? WorkingDirectory { get; init; }

    /// <summary>Log bytes kept per attempt; the runner truncates beyond this.</summary>
    public long LogLimitBytes { get; init; } = 1024 * 1024;

    [System.Text.Json.Serialization.JsonIgnore]
    public override string Kind => "script";

    public override IEnumerable<(string Path, string Template)> Templates() => Env.Select(e => ($"env.{e.Key}", e.Value));

    /// <summary>
    /// The directory a script runs in: <paramref name="workingDirectory"/> below <paramref name="runDirectory"/> (the
    /// run's own), or null when it leaves it (<c>..</c>, an absolute path, or a sibling such as <c>../&lt;run&gt;x</c>
    /// that merely starts with the same characters).
    /// </summary>
    public static string? ResolveWorkingDirectory(string runDirectory, string? workingDirectory)
    {
        ArgumentNullException.ThrowIfNull(runDirectory);
        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(runDirectory));
        if (workingDirectory is null)
        {
            return root;
        }

        var directory = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(root, workingDirectory)));
        return directory == root || directory.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal) ? directory : null;
    }
}
