using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Integration.Tests;

/// <summary>
/// How steps end (found by review): a script's background children never outlive it and never hold it open.
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
}

public sealed class EmbeddedPipelinesExecutionTests : PipelinesExecutionContract;

[Collection(DistributedPipelines.Collection)]
public sealed class DistributedPipelinesExecutionTests : PipelinesExecutionContract
{
    private readonly DistributedProfile _profile = new("pipeexec");

    protected override IDictionary<string, string?> ProfileSettings => _profile.Settings();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await _profile.DropSchemaAsync();
    }
}
