using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// A canary deploy's approval gates, seen from its runner: it opens the gate in the run (the step shows
/// AwaitingApproval and approvers decide through the usual approve/reject API) and waits for the decision, reading the
/// run every <see cref="PollInterval"/>. The runner keeps its lease meanwhile; a cancel, the step's timeout or a lost
/// lease end the wait through the step's cancellation.
/// </summary>
public sealed class DeployGates(RunStore runs, TimeProvider time)
{
    public static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    public async Task<GateDecision> WaitAsync(string runId, string stepId, int attempt, int gate, CancellationToken cancellationToken)
    {
        // Ignored when this attempt opened or passed the gate before (a dispatch run again after a crash): the decision,
        // if there is one, is read below all the same.
        if (await runs.ApplyAsync(runId, new GateOpened(stepId, attempt, gate, time.GetUtcNow()), null, cancellationToken).ConfigureAwait(false) is null)
        {
            throw new InvalidOperationException($"run {runId} is gone");
        }

        while (true)
        {
            var run = await runs.GetAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"run {runId} is gone");
            if (run.State.Steps[stepId].GateDecisions.FirstOrDefault(d => d.Attempt == attempt && d.Gate == gate) is { } decision)
            {
                return decision;
            }

            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
