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
}
