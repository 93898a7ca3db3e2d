using System.Globalization;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;

namespace Serverless.Integration.Worker;

/// <summary>
/// Records each firing of the test timer once per occurrence (create-only, valued with this process id); a second
/// firing of the same occurrence anywhere in the cluster is recorded as a duplicate for the test to find.
/// </summary>
public sealed class TickTimer(IStateStore state) : ITimerFunction
{
    public async Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        var pid = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var occurrence = timer.ScheduledTime.UtcDateTime.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture);
        try
        {
            await state.SaveAsync($"worker||tick||{occurrence}", System.Text.Encoding.UTF8.GetBytes(pid), new StateWriteOptions(OnlyIfAbsent: true), cancellationToken);
        }
        catch (ETagMismatchException)
        {
            await state.SaveAsync($"worker||tick-duplicate||{occurrence}||{pid}", System.Text.Encoding.UTF8.GetBytes(pid), cancellationToken: cancellationToken);
        }
    }
}
