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
        var opening = new DeployGate(attempt, gate);
        while (true)
        {
            var run = await runs.GetAsync(runId, cancellationToken).ConfigureAwait(false) ?? throw new InvalidOperationException($"run {runId} is gone");
            var step = run.State.Steps[stepId];
            if (step.GateDecisions.FirstOrDefault(d => d.Attempt == attempt && d.Gate == gate) is { } decision)
            {
                return decision;
            }

            // Opened (again) until the run shows it: the start report travels separately and may not be applied yet, and
            // a gate this attempt opened before a crash is found open or decided.
            if (step.OpenGate != opening
                && await runs.ApplyAsync(runId, new GateOpened(stepId, attempt, gate, time.GetUtcNow()), null, cancellationToken).ConfigureAwait(false) is { Ignored: false })
            {
                continue;
            }

            await Task.Delay(PollInterval, time, cancellationToken).ConfigureAwait(false);
        }
    }
}
