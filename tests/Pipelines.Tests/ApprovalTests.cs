using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class ApprovalTests
{
    private static RunDriver Gate(ApprovalTimeoutOutcome onTimeout = ApprovalTimeoutOutcome.Reject)
    {
        var gate = new ApprovalStep { Id = "gate", Needs = ["build"], Approvers = ["ana", "bo", "cy"], MinApprovers = 2, Timeout = TimeSpan.FromHours(4), OnTimeout = onTimeout };
        var run = new RunDriver(Pipeline([Script("build"), gate, Script("deploy", "gate")]));
        run.Start();
        run.Pass("build");
        return run;
    }

    [Fact]
    public void Waits_for_the_minimum_number_of_named_approvers()
    {
        var run = Gate();
        Assert.Equal(StepStatus.AwaitingApproval, run.Status("gate"));
        Assert.Contains(new StartTimer("approval:gate:1", RunDriver.T0.AddHours(4)), run.Commands);
        Assert.Contains(run.Commands.OfType<PublishEvent>(), e => e.Type == "pipeline.approval.requested");

        Assert.False(run.Apply(new ApprovalDecided("gate", "ana", true, run.Now)).Ignored);
        Assert.Equal(StepStatus.AwaitingApproval, run.Status("gate"));
        Assert.Equal("'ana' has already decided on 'gate'", run.Apply(new ApprovalDecided("gate", "ana", true, run.Now)).IgnoredBecause);
        Assert.Equal("'mallory' is not an approver of 'gate'", run.Apply(new ApprovalDecided("gate", "mallory", true, run.Now)).IgnoredBecause);

        run.Apply(new ApprovalDecided("gate", "bo", true, run.Now));
        Assert.Equal(StepStatus.Succeeded, run.Status("gate"));
        Assert.Equal("approved by ana, bo", run.State.Steps["gate"].Reason);
        Assert.Contains(new CancelTimer("approval:gate:1"), run.Commands);
        Assert.Equal(["deploy"], run.Dispatched);
    }

    [Fact]
    public void Approval_and_wait_steps_publish_their_start_once_per_attempt()
    {
        // No runner reports these starts (found by review): the machine publishes pipeline.step.started itself.
        var definition = Pipeline([Script("build"), new WaitStep { Id = "settle", Needs = ["build"], Duration = TimeSpan.FromSeconds(30) }, new ApprovalStep { Id = "gate", Needs = ["settle"], Approvers = ["ana"] }]);
        var run = new RunDriver(definition);
        run.Start();
        run.Pass("build");
        Assert.Equal([new PublishEvent("pipeline.step.started", "run-1", "settle")], run.Commands.OfType<PublishEvent>().Where(e => e.Type == "pipeline.step.started"));

        run.Now = run.Now.AddSeconds(30);
        run.Apply(new TimerFired("wait:settle:1", run.Now));
        Assert.Equal([new PublishEvent("pipeline.step.started", "run-1", "gate")], run.Commands.OfType<PublishEvent>().Where(e => e.Type == "pipeline.step.started"));
        Assert.Equal(StepStatus.AwaitingApproval, run.Status("gate"));

        run.Apply(new ApprovalDecided("gate", "ana", false, run.Now));
        run.Apply(new RetryRequested(run.Now));
        Assert.Equal([new PublishEvent("pipeline.step.started", "run-1", "gate")], run.Commands.OfType<PublishEvent>().Where(e => e.Type == "pipeline.step.started"));
    }

    [Fact]
    public void One_rejection_rejects()
    {
        var run = Gate();
        run.Apply(new ApprovalDecided("gate", "cy", false, run.Now) { Comment = "not on a Friday" });
        Assert.Equal(StepStatus.Failed, run.Status("gate"));
        Assert.Equal("rejected by cy", run.State.Steps["gate"].Reason);
        Assert.Equal("not on a Friday", run.State.Steps["gate"].Votes.Single().Comment);
        Assert.Equal(StepStatus.Skipped, run.Status("deploy"));
        Assert.Equal(RunStatus.Failed, run.State.Status);
    }

    [Theory]
    [InlineData(ApprovalTimeoutOutcome.Reject, StepStatus.Failed, StepStatus.Skipped)]
    [InlineData(ApprovalTimeoutOutcome.Approve, StepStatus.Succeeded, StepStatus.Queued)]
    public void The_timeout_applies_the_default_outcome(ApprovalTimeoutOutcome onTimeout, StepStatus gate, StepStatus deploy)
    {
        var run = Gate(onTimeout);
        run.Apply(new ApprovalDecided("gate", "ana", true, run.Now));
        run.Now = RunDriver.T0.AddHours(4);
        run.Apply(new TimerFired("approval:gate:1", run.Now));

        Assert.Equal(gate, run.Status("gate"));
        Assert.Equal(deploy, run.Status("deploy"));

        // A vote after the timeout changes nothing.
        Assert.True(run.Apply(new ApprovalDecided("gate", "bo", true, run.Now)).Ignored);
    }

    [Fact]
    public void A_timer_that_fires_after_the_decision_is_stale()
    {
        var run = Gate();
        run.Apply(new ApprovalDecided("gate", "ana", true, run.Now));
        run.Apply(new ApprovalDecided("gate", "bo", true, run.Now));
        Assert.True(run.Apply(new TimerFired("approval:gate:1", run.Now.AddHours(4))).Ignored);
        Assert.Equal(StepStatus.Succeeded, run.Status("gate"));
    }

    /// <summary>A run of one canary deploy step (10 % then 100 %) with an approval gate between, ana its approver.</summary>
    private static RunDriver GatedCanary() => new(Build.Pipeline([new DeployStep
    {
        Id = "ship",
        Version = "2",
        Target = new DeployTarget { DeployUrl = "https://deploy.example" },
        Strategy = new CanaryStrategy { Steps = [10, 100], Approval = true, Approvers = ["ana"] },
    }]));

    [Fact]
    public void A_canary_deploy_waits_at_an_open_gate_for_one_of_its_approvers()
    {
        var run = GatedCanary();
        run.Start();
        run.Started("ship");
        var step = () => run.State.Steps["ship"];

        // Nothing to decide before the runner reaches the gate.
        Assert.Equal("step 'ship' is Running, not waiting at an approval gate", run.Apply(new ApprovalDecided("ship", "ana", true, run.Now)).IgnoredBecause);

        Assert.False(run.Apply(new GateOpened("ship", 1, 1, run.Now)).Ignored);
        Assert.Equal((StepStatus.Running, StepStatus.AwaitingApproval), (step().Status, step().DisplayStatus));
        Assert.Contains(run.Commands.OfType<PublishEvent>(), e => e.Type == "pipeline.approval.requested");
        Assert.Equal("'mallory' is not an approver of 'ship'", run.Apply(new ApprovalDecided("ship", "mallory", true, run.Now)).IgnoredBecause);
        Assert.Equal("attempt 2 of 'ship' is not the one running", run.Apply(new GateOpened("ship", 2, 1, run.Now)).IgnoredBecause);

        Assert.False(run.Apply(new ApprovalDecided("ship", "ana", false, run.Now) { Comment = "error rate up" }).Ignored);
        Assert.Equal(new GateDecision(1, 1, false, "ana", run.Now), Assert.Single(step().GateDecisions));
        Assert.Equal(StepStatus.Running, step().DisplayStatus); // the runner rolls back and reports the end
        Assert.Equal("gate 1 of attempt 1 was decided already", run.Apply(new GateOpened("ship", 1, 1, run.Now)).IgnoredBecause);
        Assert.Equal("step 'ship' is Running, not waiting at an approval gate", run.Apply(new ApprovalDecided("ship", "ana", true, run.Now)).IgnoredBecause);
    }
    [Fact]
    public void A_gate_reported_before_the_start_report_opens_and_shows_once_the_step_runs()
    {
        var run = GatedCanary();
        run.Start();

        // The runner opens the gate directly; its start report comes through the queue and may be applied later.
        Assert.False(run.Apply(new GateOpened("ship", 1, 1, run.Now)).Ignored);
        Assert.Equal(StepStatus.Queued, run.State.Steps["ship"].DisplayStatus);
        run.Started("ship");
        Assert.Equal(StepStatus.AwaitingApproval, run.State.Steps["ship"].DisplayStatus);
        Assert.False(run.Apply(new ApprovalDecided("ship", "ana", true, run.Now)).Ignored);
    }
}
