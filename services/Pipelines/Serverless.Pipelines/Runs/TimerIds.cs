using System.Globalization;

namespace Serverless.Pipelines.Runs;

/// <summary>
/// Timer ids name their purpose, step and attempt ("timeout:build:2"), so a fired timer finds its step without
/// extra state and a timer of an old attempt is recognisably stale. Step ids cannot contain ':'.
/// </summary>
internal static class TimerIds
{
    public const string TimeoutPurpose = "timeout";
    public const string ApprovalPurpose = "approval";
    public const string WaitPurpose = "wait";

    public static string Timeout(string stepId, int attempt) => Format(TimeoutPurpose, stepId, attempt);

    public static string Approval(string stepId, int attempt) => Format(ApprovalPurpose, stepId, attempt);

    public static string Wait(string stepId, int attempt) => Format(WaitPurpose, stepId, attempt);

    public static bool TryParse(string timerId, out string purpose, out string stepId, out int attempt)
    {
        var parts = timerId.Split(':');
        purpose = parts.Length == 3 ? parts[0] : string.Empty;
        stepId = parts.Length == 3 ? parts[1] : string.Empty;
        attempt = 0;
        return parts.Length == 3 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out attempt);
    }

    private static string Format(string purpose, string stepId, int attempt) => string.Create(CultureInfo.InvariantCulture, $"{purpose}:{stepId}:{attempt}");
}
