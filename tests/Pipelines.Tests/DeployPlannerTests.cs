namespace Pipelines.Tests;

public sealed class DeployPlannerTests
{
    private static readonly DeployRequest Request = new("2.0.0", "1.9.0");

    [Fact]
    public void Rolling_deploys_batch_by_batch_with_a_health_check_after_each()
    {
        var plan = DeployPlanner.Plan(new RollingStrategy { BatchSize = 2, Instances = 5 }, Request);
        Assert.Equal(
            [
                new DeployInstances([0, 1], "2.0.0"), new CheckHealth("instances 0-1"),
                new DeployInstances([2, 3], "2.0.0"), new CheckHealth("instances 2-3"),
                new DeployInstances([4], "2.0.0"), new CheckHealth("instance 4"),
            ],
            plan.Operations);
    }

    [Fact]
    public void The_target_instance_count_overrides_the_strategy()
    {
        var plan = DeployPlanner.Plan(new RollingStrategy { BatchSize = 3, Instances = 1 }, Request with { Instances = 3 });
        Assert.Equal([new DeployInstances([0, 1, 2], "2.0.0"), new CheckHealth("instances 0-2")], plan.Operations);
    }

    [Fact]
    public void Rolling_rollback_without_a_previous_version_deploys_nothing()
    {
        // A first deploy (the target reported no version): never an empty version on the instances.
        var strategy = new RollingStrategy { BatchSize = 2, Instances = 4 };
        var first = Request with { PreviousVersion = string.Empty };
        var plan = DeployPlanner.Plan(strategy, first);
        Assert.Empty(DeployPlanner.Rollback(strategy, plan, failedAt: 3, first).Operations);
    }

    [Fact]
    public void Rolling_rollback_restores_every_touched_batch_most_recent_first()
    {
        var strategy = new RollingStrategy { BatchSize = 2, Instances = 5 };
        var plan = DeployPlanner.Plan(strategy, Request);
        var rollback = DeployPlanner.Rollback(strategy, plan, failedAt: 3, Request); // health of instances 2-3 failed
        Assert.Equal(
            [
                new DeployInstances([2, 3], "1.9.0"), new CheckHealth("instances 2-3"),
                new DeployInstances([0, 1], "1.9.0"), new CheckHealth("instances 0-1"),
            ],
            rollback.Operations);
    }

    [Fact]
    public void Blue_green_deploys_the_idle_slot_checks_switches_and_keeps_the_old()
    {
        var plan = DeployPlanner.Plan(new BlueGreenStrategy(), Request with { ActiveSlot = "green" });
        Assert.Equal([new DeploySlot("blue", "2.0.0"), new CheckHealth("slot blue"), new SwitchTraffic("blue"), new KeepStandby("green")], plan.Operations);
    }

    [Fact]
    public void Blue_green_rollback_switches_back_only_once_traffic_moved()
    {
        var strategy = new BlueGreenStrategy();
        var plan = DeployPlanner.Plan(strategy, Request);
        Assert.Empty(DeployPlanner.Rollback(strategy, plan, failedAt: 1, Request).Operations); // the idle slot failed its check
        Assert.Equal([new SwitchTraffic("blue"), new CheckHealth("slot blue")], DeployPlanner.Rollback(strategy, plan, failedAt: 3, Request).Operations);
    }

    [Fact]
    public void Canary_shifts_traffic_step_by_step_with_gates_between()
    {
        var strategy = new CanaryStrategy { Steps = [10, 50, 100], Pause = TimeSpan.FromMinutes(5), Approval = true, Approvers = ["ana"] };
        var plan = DeployPlanner.Plan(strategy, Request);
        Assert.Equal(
            [
                new DeployCanary("2.0.0"),
                new ShiftTraffic(10), new CheckHealth("canary"), new PauseFor(TimeSpan.FromMinutes(5)), new AwaitApproval(["ana"]),
                new ShiftTraffic(50), new CheckHealth("canary"), new PauseFor(TimeSpan.FromMinutes(5)), new AwaitApproval(["ana"]),
                new ShiftTraffic(100), new CheckHealth("canary"),
                new PromoteCanary("2.0.0"),
            ],
            plan.Operations);
    }

    [Fact]
    public void Canary_rollback_takes_the_traffic_back_and_removes_the_canary()
    {
        var strategy = new CanaryStrategy();
        var plan = DeployPlanner.Plan(strategy, Request);
        var failedHealth = plan.Operations.ToList().FindIndex(o => o is CheckHealth);
        Assert.Equal([new ShiftTraffic(0), new RemoveCanary()], DeployPlanner.Rollback(strategy, plan, failedHealth, Request).Operations);
    }
}
