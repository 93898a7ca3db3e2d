using System.Globalization;
using System.Runtime.InteropServices;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Script steps run in a session of their own (<c>setsid</c>, so the shell's pid is the session and process group id)
/// and end by killing that session: every process the script started, also those reparented to init after the
/// shell exited (<c>sleep 777 &amp;</c>), or moved to another process group by job control. Only a process that
/// starts a new session itself escapes. Without <c>setsid</c> (not Linux) a step falls back to killing the shell's
/// process tree while it still exists.
/// </summary>
internal static class ProcessGroups
{
    private const int SigKill = 9;

    /// <summary>The <c>setsid</c> program, or null where there is none.</summary>
    public static string? Setsid { get; } = OperatingSystem.IsLinux()
        ? new[] { "/usr/bin/setsid", "/bin/setsid" }.FirstOrDefault(File.Exists)
        : null;

    /// <summary>Kills process group <paramref name="session"/> and every process whose session it is.</summary>
    public static void KillSession(int session)
    {
        // The group first (one call, works without /proc); then members of the session in other groups.
        _ = Kill(-session, SigKill);
        if (!Directory.Exists("/proc"))
        {
            return;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && SessionOf(directory) == session)
            {
                _ = Kill(pid, SigKill);
            }
        }
    }

    /// <summary>The session id from <c>/proc/{pid}/stat</c> (field 6, after the command name in parentheses), or null.</summary>
    internal static int? SessionOf(string procDirectory)
    {
        try
        {
            var stat = File.ReadAllText(Path.Combine(procDirectory, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // state ppid pgrp session ...
            return fields.Length > 3 && int.TryParse(fields[3], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var session) ? session : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentOutOfRangeException)
        {
            return null; // gone meanwhile, or not ours to read
        }
    }

    // DllImport (not LibraryImport, which needs unsafe code in the project): two ints, nothing to marshal.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
