namespace Serverless.Pipelines.Service.Runners;

/// <summary>The longest timeout the runners give a <see cref="CancellationTokenSource"/>; a longer one is left to the orchestrator's timer.</summary>
internal static class CancelAfterLimit
{
    public static readonly TimeSpan Maximum = TimeSpan.FromMilliseconds(int.MaxValue);
}
