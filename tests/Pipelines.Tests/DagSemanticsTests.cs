using static Pipelines.Tests.Build;

namespace Pipelines.Tests;

public sealed class DagSemanticsTests
{
    [Fact]
    public void Starting_dispatches_the_roots_and_each_completion_releases_dependents()
    {
        var run = new RunDriver(Diamond());
        run.Start();
        Assert.Equal(["a"], run.Dispatched);
        Assert.Equal(RunStatus.Running, run.State.Status);

        run.Pass("a");
        Assert.Equal(["b", "c"], run.Dispatched);
        run.Pass("b");
        Assert.Empty(run.Dispatched); // d still needs c
        Assert.Equal(StepStatus.Waiting, run.Status("d"));
        run.Pass("c");
        Assert.Equal(["d"], run.Dispatched);
        run.Pass("d");

        Assert.Equal(RunStatus.Succeeded, run.State.Status);
        Assert.Contains(new PublishEvent("pipeline.run.succeeded", "run-1"), run.Commands);
    }

    [Fact]
    public void A_failed_need_skips_default_dependents_transitively_and_fails_the_run()
    {
        var run = new RunDriver(Diamond());
        run.Start();
        run.Pass("a");
        run.Crash("b");
        run.Pass("c");

        Assert.Equal(StepStatus.Failed, run.Status("b"));
        Assert.Equal(StepStatus.Skipped, run.Status("d"));
        Assert.Equal("a needed step did not succeed", run.State.Steps["d"].Reason);
        Assert.Equal(RunStatus.Failed, run.State.Status);
    }

    [Fact]
    public void A_step_skipped_by_when_lets_each_dependent_decide_by_its_own_when()
    {
        var definition = Pipeline(
        [
            Script("build"),
            Script("deploy", "build") with { When = "parameters.env == 'prod'" },
            Script("smoke", "deploy"), // default success(): a skipped need is not success
            Script("report", "deploy") with { When = "!failure() && !cancelled()" },
            Script("audit", "smoke") with { When = "always()" },
        ]);
        var run = new RunDriver(definition, new Dictionary<string, object?> { ["env"] = "staging" });
        run.Start();
        run.Pass("build");

        Assert.Equal(StepStatus.Skipped, run.Status("deploy"));
        Assert.Equal("when 'parameters.env == 'prod'' is false", run.State.Steps["deploy"].Reason);
        Assert.Equal(StepStatus.Skipped, run.Status("smoke"));
        Assert.Equal(StepStatus.Queued, run.Status("report"));
        Assert.Equal(StepStatus.Queued, run.Status("audit")); // skipped never blocks: always() runs after a skipped chain
        Assert.Equal(["report", "audit"], run.Dispatched);

        run.Pass("report");
        run.Pass("audit");
        Assert.Equal(RunStatus.Succeeded, run.State.Status); // skips are not failures
    }

    [Fact]
    public void A_condition_without_a_status_function_still_requires_success()
    {
        var definition = Pipeline([Script("build"), Script("deploy", "build") with { When = "parameters.env == 'prod'" }, Script("page", "build") with { When = "failure() && parameters.env == 'prod'" }]);
        var run = new RunDriver(definition, new Dictionary<string, object?> { ["env"] = "prod" });
        run.Start();
        run.Crash("build");

        Assert.Equal(StepStatus.Skipped, run.Status("deploy")); // read as success() && (parameters.env == 'prod')
        Assert.Equal(["page"], run.Dispatched);
    }

    [Fact]
    public void Failure_reaches_a_notifier_across_a_skipped_step()
    {
        var definition = Pipeline(
        [
            Script("build"),
            Script("test", "build"),
            Script("notify", "test") with { When = "failure()" },
            Script("celebrate", "test") with { When = "success()" },
        ]);
        var run = new RunDriver(definition);
        run.Start();
        run.Crash("build");

        Assert.Equal(StepStatus.Skipped, run.Status("test"));
        Assert.Equal(StepStatus.Queued, run.Status("notify")); // build failed two hops up
        Assert.Equal(StepStatus.Skipped, run.Status("celebrate"));
        run.Pass("notify");
        Assert.Equal(RunStatus.Failed, run.State.Status); // handling a failure does not erase it
    }

    [Fact]
    public void Finally_steps_run_after_every_normal_step_and_their_failure_fails_the_run()
    {
        var definition = Pipeline([Script("a"), Script("b", "a")], [Script("cleanup"), Script("report", "cleanup")]);
        var run = new RunDriver(definition);
        run.Start();
        Assert.Equal(["a"], run.Dispatched);
        run.Pass("a");
        Assert.Equal(["b"], run.Dispatched); // finally waits for b
        run.Pass("b");
        Assert.Equal(["cleanup"], run.Dispatched);
        run.Crash("cleanup");

        // Finally steps default to always(), so report runs after the failed cleanup, and the run still finishes.
        Assert.Equal(["report"], run.Dispatched);
        run.Pass("report");
        Assert.Equal(RunStatus.Failed, run.State.Status);
        Assert.NotNull(run.State.FinishedAt);
    }

    [Fact]
    public void Finally_steps_run_after_a_normal_failure_and_can_see_it()
    {
        var definition = Pipeline([Script("a"), Script("b", "a")], [Script("on-failure") with { When = "failure()" }, Script("on-success") with { When = "success()" }]);
        var run = new RunDriver(definition);
        run.Start();
        run.Crash("a");

        Assert.Equal(StepStatus.Skipped, run.Status("b"));
        Assert.Equal(["on-failure"], run.Dispatched);
        Assert.Equal(StepStatus.Skipped, run.Status("on-success"));
        run.Pass("on-failure");
        Assert.Equal(RunStatus.Failed, run.State.Status);
    }

    [Fact]
    public void Outputs_flow_into_later_expressions_and_templates()
    {
        var definition = Pipeline([Script("build") with { Outputs = ["version"] }, Script("release", "build") with { When = "startsWith(steps.build.outputs.version, '2.')" }]);
        var run = new RunDriver(definition);
        run.Start();
        run.Pass("build", outputs: new Dictionary<string, string> { ["version"] = "2.4.0" });

        Assert.Equal(["release"], run.Dispatched);
        var context = run.Machine.ContextFor(run.State, "release");
        Assert.Equal("v2.4.0 on refs/heads/main", TemplateString.Render("v${{ steps.build.outputs.version }} on ${{ trigger.ref }}", context));
    }

    [Fact]
    public void A_failed_step_keeps_the_outputs_its_final_attempt_reported()
    {
        // Found by review: a failed deploy's rolledBack (an http step's status) vanished, so a failure() notifier could not read it.
        var definition = Pipeline(
        [
            Script("deploy") with { Retries = new RetryPolicy { Limit = 1 } },
            Script("ship", "deploy"),
            Script("notify", "deploy") with { When = "failure() && steps.deploy.outputs.rolledBack == 'true'" },
        ]);
        var run = new RunDriver(definition);
        run.Start();
        run.Started("deploy");
        run.Apply(new StepCompleted("deploy", 1, StepOutcome.Failed, run.Now) { Outputs = new Dictionary<string, string> { ["rolledBack"] = "false", ["first"] = "1" }, Error = "health" });
        Assert.Empty(run.State.Steps["deploy"].Outputs); // retried: not the final attempt

        run.Started("deploy", 2);
        run.Apply(new StepCompleted("deploy", 2, StepOutcome.Failed, run.Now) { Outputs = new Dictionary<string, string> { ["rolledBack"] = "true", ["previousVersion"] = "1" }, Error = "health" });
        Assert.Equal(StepStatus.Failed, run.Status("deploy"));
        Assert.Equal(new Dictionary<string, string> { ["rolledBack"] = "true", ["previousVersion"] = "1" }, run.State.Steps["deploy"].Outputs);
        Assert.Equal(StepStatus.Skipped, run.Status("ship"));
        Assert.Equal(["notify"], run.Dispatched);
        Assert.Equal("1", TemplateString.Render("${{ steps.deploy.outputs.previousVersion }}", run.Machine.ContextFor(run.State, "notify")));
    }

    [Fact]
    public void A_deploy_steps_timeout_timer_leaves_its_runner_time_to_roll_back()
    {
        // The runner stops the deploy at its timeout and rolls back; the orchestrator's timer is the backstop after that.
        var deploy = new DeployStep { Id = "ship", Version = "2", Target = new DeployTarget { DeployUrl = "http://deploy" }, Strategy = new RollingStrategy(), Timeout = TimeSpan.FromSeconds(2) };
        var run = new RunDriver(Pipeline([deploy, Script("build") with { Timeout = TimeSpan.FromSeconds(2) }]));
        run.Start();
        run.Started("ship");
        Assert.Equal(new StartTimer("timeout:ship:1", RunDriver.T0 + TimeSpan.FromSeconds(2) + RunStateMachine.DeployRollbackAllowance), Assert.Single(run.Commands.OfType<StartTimer>()));
        run.Started("build");
        Assert.Equal(new StartTimer("timeout:build:1", RunDriver.T0.AddSeconds(2)), Assert.Single(run.Commands.OfType<StartTimer>()));
    }

    [Fact]
    public void Wait_steps_are_timers()
    {
        var definition = Pipeline([new WaitStep { Id = "settle", Duration = TimeSpan.FromSeconds(30) }, Script("after", "settle")]);
        var run = new RunDriver(definition);
        run.Start();
        Assert.Equal(new StartTimer("wait:settle:1", RunDriver.T0.AddSeconds(30)), Assert.Single(run.Commands.OfType<StartTimer>()));
        Assert.Empty(run.Dispatched);

        run.Now = RunDriver.T0.AddSeconds(30);
        run.Apply(new TimerFired("wait:settle:1", run.Now));
        Assert.Equal(StepStatus.Succeeded, run.Status("settle"));
        Assert.Equal(["after"], run.Dispatched);
    }
}
