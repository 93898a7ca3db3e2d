using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Serverless.BuildingBlocks.Hosting;

/// <summary>
/// How the process's garbage collector was started, told once at start-up. The smallest gen0 budget
/// (<c>DOTNET_GCgen0size</c>) can only come from the environment; without it the server GC's budget for short-lived
/// garbage fell to about 5 MB per heap on the development machine and calculate lost about a sixth of its throughput
/// (tests/Benchmarks/NOTES.md, "The GC's gen0 budget"), so a server GC without it is a warning.
/// </summary>
public static class GcSettings
{
    /// <summary>The variable the runtime reads the smallest gen0 budget from (hexadecimal bytes, "0x" optional).</summary>
    public const string Gen0SizeVariable = "DOTNET_GCgen0size";

    /// <summary>What <c>Properties/launchSettings.json</c> sets for <c>dotnet run</c>: 64 MB.</summary>
    public const string RecommendedGen0Size = "0x4000000";

    /// <summary>A line describing the settings, and whether it is a warning.</summary>
    /// <param name="serverGc">Whether the server GC runs.</param>
    /// <param name="heaps">Its heap count.</param>
    /// <param name="gen0Size">The variable's text, or null when it is not set.</param>
    public static (string Message, bool Warning) Describe(bool serverGc, long heaps, string? gen0Size)
    {
        var kind = serverGc ? $"server GC, {heaps} heap{(heaps == 1 ? "" : "s")}" : "workstation GC";
        if (gen0Size is null)
        {
            return serverGc
                ? ($"{kind}, {Gen0SizeVariable} not set: the runtime's smallest gen0 budget can be a few MB per heap, "
                   + $"which costs throughput; set {Gen0SizeVariable}={RecommendedGen0Size} (64 MB) in this process's environment "
                   + "(dotnet run takes it from Properties/launchSettings.json)", true)
                : ($"{kind}, the runtime's own gen0 budget", false);
        }

        return TryParseBytes(gen0Size, out var bytes)
            ? ($"{kind}, smallest gen0 budget {bytes / (1024.0 * 1024):0.#} MB ({Gen0SizeVariable})", false)
            : ($"{kind}, {Gen0SizeVariable}='{gen0Size}' is not a positive hexadecimal byte count, so the runtime ignores it; "
               + $"use {Gen0SizeVariable}={RecommendedGen0Size} (64 MB)", true);
    }

    /// <summary>The runtime's reading of such a value: hexadecimal, with or without "0x".</summary>
    private static bool TryParseBytes(string text, out ulong bytes)
    {
        var digits = text.Trim();
        if (digits.StartsWith("0x", StringComparison.OrdinalIgnoreCase))
        {
            digits = digits[2..];
        }

        return ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out bytes) && bytes > 0;
    }
}

/// <summary>Logs <see cref="GcSettings.Describe"/> for this process once, at start-up.</summary>
internal sealed partial class GcSettingsReport(ILogger<GcSettingsReport> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var variables = GC.GetConfigurationVariables();
        var serverGc = variables.TryGetValue("ServerGC", out var server) && server is true;
        var heaps = variables.TryGetValue("HeapCount", out var count) ? Convert.ToInt64(count, CultureInfo.InvariantCulture) : 1;
        // The runtime still takes the older COMPlus_ prefix when the DOTNET_ one is not set.
        var gen0Size = Environment.GetEnvironmentVariable(GcSettings.Gen0SizeVariable) ?? Environment.GetEnvironmentVariable("COMPlus_GCgen0size");
        var (message, warning) = GcSettings.Describe(serverGc, heaps, gen0Size);
        Report(logger, warning ? LogLevel.Warning : LogLevel.Information, message);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Message = "Garbage collector: {Settings}")]
    private static partial void Report(ILogger logger, LogLevel level, string settings);
}
