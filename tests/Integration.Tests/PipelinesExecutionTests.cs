using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Integration.Tests;

/// <summary>
/// How steps end (found by review): a script's background children never outlive it and never hold it open, a deploy
/// onto a target whose state cannot be read changes nothing, failed steps keep their outputs.
/// </summary>
public abstract partial class PipelinesExecutionContract : PipelinesApiContract
{
    private static string Reason(JsonElement run, string step) => Step(run, step).GetProperty("reason").GetString()!;

    /// <summary>Whether <paramref name="pid"/> is a live process (a zombie waiting for init to reap it is dead).</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task AssertGoneAsync(int pid, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (IsAlive(pid))
        {
            Assert.True(DateTime.UtcNow < deadline, $"{what} (pid {pid}) outlived its step");
            await Task.Delay(50);
        }
    }

    private async Task<int> ChildPidAsync(string runId, string step)
    {
        var log = await Admin.GetStringAsync($"/api/runs/{runId}/steps/{step}/log");
        var match = ChildLine().Match(log);
        Assert.True(match.Success, $"no child pid in the log of {step}: {log}");
        return int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"child=(\d+)")]
    private static partial Regex ChildLine();

    [Fact]
    public async Task A_script_ends_when_its_shell_exits_and_takes_its_background_children_with_it()
    {
        Assert.SkipUnless(OperatingSystem.IsLinux(), "process sessions are checked through /proc");
        // ok exits 0 with a child holding stdout; bad exits 3 likewise; slow orphans a child (its subshell exits, so
        // it is no longer in the shell's process tree) and then runs into its timeout.
        await SaveAsync("orphans", """
            name: orphans
            steps:
              - {id: ok, kind: script, run: "sleep 777 & echo child=$!; echo started"}
              - {id: bad, kind: script, run: "sleep 778 & echo child=$!; exit 3"}
              - {id: slow, kind: script, run: "(sleep 779 & echo child=$!); sleep 60", timeout: 2s}
            """);
        var started = DateTime.UtcNow;
        var runId = await StartAsync("orphans");

        var run = await WaitForRunAsync(runId, r => Status(r, "ok") == "Succeeded" && Status(r, "bad") == "Failed" && Status(r, "slow") == "Failed", "every step to end", seconds: 20);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(15), "a step waited for its background child");
        Assert.Equal("exit code 3", Reason(run, "bad"));
        Assert.Equal("TimedOut", Step(run, "slow").GetProperty("attempts")[0].GetProperty("outcome").GetString());
        Assert.StartsWith("started", (await Admin.GetStringAsync($"/api/runs/{runId}/steps/ok/log")).Split('\n')[1], StringComparison.Ordinal);
        await AssertGoneAsync(await ChildPidAsync(runId, "ok"), "the child of a succeeded script");
        await AssertGoneAsync(await ChildPidAsync(runId, "bad"), "the child of a failed script");
        await AssertGoneAsync(await ChildPidAsync(runId, "slow"), "the orphaned child of a timed-out script");
    }

    [Fact]
    public async Task A_deploy_onto_a_target_whose_state_cannot_be_read_changes_nothing()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        target.CurrentStatus = 500;
        await SaveAsync("unread", $$"""
            name: unread
            steps:
              - id: roll
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{target.BaseUrl}}/health"}
                strategy: {kind: rolling, instances: 2, batchSize: 1}
            """);
        var run = await WaitForStatusAsync(await StartAsync("unread"), "Failed");

        Assert.Equal("the deployment API could not say what runs now (GET deployUrl answered HTTP 500); nothing was changed", Reason(run, "roll"));
        Assert.All(target.Calls, call => Assert.Equal("GET /deploy", call)); // retried as transient, never changed
        Assert.Equal("1", target.Version);
    }

    [Fact]
    public async Task A_failed_first_deploy_is_not_rolled_back_to_an_empty_version()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        target.ReportsNoVersion = true; // nothing ran before; version 2 fails its health check
        await SaveAsync("first", $$"""
            name: first
            steps:
              - id: roll
                kind: deploy
                version: "2"
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{target.BaseUrl}}/health"}
                strategy: {kind: rolling, instances: 1, batchSize: 1}
              - {id: probe, kind: http, url: "{{target.BaseUrl}}/health", needs: [roll], when: "failure()"}
            """);
        var run = await WaitForStatusAsync(await StartAsync("first"), "Failed");

        Assert.EndsWith("; not rolled back: no version was running before this deploy", Reason(run, "roll"), StringComparison.Ordinal);
        Assert.Equal(["GET /deploy", "POST /deploy deployInstances 2", "GET /health", "GET /health"], target.Calls.Take(4).ToArray());
        Assert.Equal(["POST /deploy deployInstances 2"], target.Calls.Where(c => c.StartsWith("POST", StringComparison.Ordinal)).ToArray());

        // Failed steps keep what their attempt reported (the deploy's rollback outcome, the http step's answer).
        var outputs = Step(run, "roll").GetProperty("outputs");
        Assert.Equal("false", outputs.GetProperty("rolledBack").GetString());
        Assert.Equal(string.Empty, outputs.GetProperty("previousVersion").GetString());
        Assert.Equal("Failed", Status(run, "probe"));
        Assert.Equal("503", Step(run, "probe").GetProperty("outputs").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_deploy_rolled_back_after_a_failed_health_check_shows_its_outputs()
    {
        await using var target = await FakeDeploymentApi.StartAsync();
        await SaveAsync("rolled", $$$"""
            name: rolled
            steps:
              - id: roll
                kind: deploy
                version: "2"
                target: {deployUrl: "{{{target.BaseUrl}}}/deploy", healthUrl: "{{{target.BaseUrl}}}/health"}
                outputs: [rolledBack, previousVersion]
                strategy: {kind: rolling, instances: 1, batchSize: 1}
              - {id: notify, kind: script, needs: [roll], when: "failure() && steps.roll.outputs.rolledBack == 'true'", run: "echo back to $V", env: {V: "${{ steps.roll.outputs.previousVersion }}"}}
            """);
        var runId = await StartAsync("rolled");
        var run = await WaitForStatusAsync(runId, "Failed");

        var outputs = Step(run, "roll").GetProperty("outputs");
        Assert.Equal("true", outputs.GetProperty("rolledBack").GetString());
        Assert.Equal("1", outputs.GetProperty("previousVersion").GetString());
        Assert.Equal("Succeeded", Status(run, "notify"));
        Assert.Equal("back to 1\n", await Admin.GetStringAsync($"/api/runs/{runId}/steps/notify/log"));
    }

    [Fact]
    public async Task Deciding_on_an_unknown_step_or_reading_an_unknown_attempt_is_404_problem()
    {
        await SaveAsync("lookups", """
            name: lookups
            steps:
              - {id: build, kind: script, run: "echo built"}
              - {id: gate, kind: approval, approvers: [ana], needs: [build]}
            """);
        var runId = await StartAsync("lookups");
        await WaitForRunAsync(runId, r => Status(r, "gate") == "AwaitingApproval", "the approval request");
        var ana = await PersonAsync("ana");

        var unknown = await ana.PostAsync($"/api/runs/{runId}/steps/nosuch/approve", null);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        Assert.Contains("has no step 'nosuch'", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await ana.PostAsync($"/api/runs/{runId}/steps/nosuch/reject", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await ana.PostAsync($"/api/runs/{runId}/steps/build/approve", null)).StatusCode); // known, not an approval step

        foreach (var attempt in new[] { "99", "-1", "0" })
        {
            var log = await Admin.GetAsync($"/api/runs/{runId}/steps/build/log?attempt={attempt}");
            Assert.Equal(HttpStatusCode.NotFound, log.StatusCode);
            Assert.Equal("application/problem+json", log.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await Admin.GetAsync($"/api/runs/{runId}/steps/gate/log?attempt=2&follow=true")).StatusCode);
        Assert.Equal("built\n", await Admin.GetStringAsync($"/api/runs/{runId}/steps/build/log?attempt=1"));
    }

    [Fact]
    public async Task A_deploy_that_runs_into_its_timeout_is_rolled_back_before_it_ends()
    {
        // The canary takes 10 % and is healthy, then pauses past the step's timeout: it must not be left taking traffic.
        await using var target = await FakeDeploymentApi.StartAsync();
        target.HealthyVersion = "2";
        await SaveAsync("slowcanary", $$"""
            name: slowcanary
            steps:
              - id: canary
                kind: deploy
                version: "2"
                timeout: 2s
                target: {deployUrl: "{{target.BaseUrl}}/deploy", healthUrl: "{{target.BaseUrl}}/health"}
                strategy: {kind: canary, steps: [10, 100], pause: 1m}
            """);
        var runId = await StartAsync("slowcanary");

        var run = await WaitForStatusAsync(runId, "Failed", seconds: 20);
        Assert.Equal("TimedOut", Step(run, "canary").GetProperty("attempts")[0].GetProperty("outcome").GetString());
        await WaitForCallAsync(target, "POST /deploy removeCanary");
        Assert.Equal(
            ["GET /deploy", "POST /deploy deployCanary 2", "POST /deploy shiftTraffic 10", "GET /health", "POST /deploy shiftTraffic 0", "POST /deploy removeCanary"],
            target.Calls.ToArray());
        Assert.Equal(("1", null, 0), (target.Version, target.CanaryVersion, target.CanaryPercent));
        Assert.Equal("timed out after 2s during PauseFor; rolled back to 1", Step(run, "canary").GetProperty("reason").GetString());
        Assert.Equal("true", Step(run, "canary").GetProperty("outputs").GetProperty("rolledBack").GetString());
        Assert.Contains("rolled back to 1", await Admin.GetStringAsync($"/api/runs/{runId}/steps/canary/log"), StringComparison.Ordinal);

        // A cancel while the canary takes traffic rolls it back too before the step ends Cancelled.
        target.Calls.Clear();
        var cancelled = await StartAsync("slowcanary");
        await WaitForCallAsync(target, "GET /health");
        Assert.Equal(HttpStatusCode.Accepted, (await Admin.PostAsync($"/api/runs/{cancelled}/cancel", null)).StatusCode);
        run = await WaitForStatusAsync(cancelled, "Cancelled", seconds: 20);
        Assert.Equal("Cancelled", Status(run, "canary"));
        Assert.Equal(["POST /deploy shiftTraffic 0", "POST /deploy removeCanary"], target.Calls.Skip(4).ToArray());
        Assert.Equal(("1", null, 0), (target.Version, target.CanaryVersion, target.CanaryPercent));
    }

    private static async Task WaitForCallAsync(FakeDeploymentApi target, string call)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!target.Calls.Contains(call))
        {
            Assert.True(DateTime.UtcNow < deadline, $"no '{call}' within 10 s; calls: {string.Join(" | ", target.Calls)}");
            await Task.Delay(50);
        }
    }
}

public sealed class EmbeddedPipelinesExecutionTests : PipelinesExecutionContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesExecutionTests : PipelinesExecutionContract
{
    protected override DistributedProfile Distributed { get; } = new("pipeexec");
}
