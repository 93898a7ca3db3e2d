namespace Pipelines.Tests;

public sealed class ConcurrencyTests
{
    private static readonly DateTimeOffset T = RunDriver.T0;
    private static readonly ConcurrencySpec Queueing = new() { Group = "deploy-${{ parameters.env }}" };
    private static readonly ConcurrencySpec Cancelling = Queueing with { CancelInProgress = true };

    [Fact]
    public void The_group_template_renders_with_the_run_parameters() =>
        Assert.Equal("deploy-prod", ConcurrencyGroups.ResolveGroup(Queueing, new Dictionary<string, object?> { ["env"] = "prod" }));

    [Fact]
    public void An_empty_group_starts_the_run_now() =>
        Assert.Equal(new ConcurrencyDecision(ConcurrencyAction.StartNow, []), ConcurrencyGroups.Decide(Queueing, []));

    [Fact]
    public void Behind_a_running_run_the_new_run_waits()
    {
        var decision = ConcurrencyGroups.Decide(Queueing, [new GroupRun("r1", true, T)]);
        Assert.Equal(ConcurrencyAction.Pending, decision.Action);
        Assert.Empty(decision.Cancel);
    }

    [Fact]
    public void A_newer_pending_run_replaces_the_older_pending_one()
    {
        var decision = ConcurrencyGroups.Decide(Queueing, [new GroupRun("r1", true, T), new GroupRun("r2", false, T.AddMinutes(1))]);
        Assert.Equal(ConcurrencyAction.Pending, decision.Action);
        Assert.Equal(["r2"], decision.Cancel);
    }

    [Fact]
    public void Cancel_in_progress_cancels_the_running_and_the_pending_runs()
    {
        var decision = ConcurrencyGroups.Decide(Cancelling, [new GroupRun("r2", false, T.AddMinutes(1)), new GroupRun("r1", true, T)]);
        Assert.Equal(ConcurrencyAction.CancelInProgress, decision.Action);
        Assert.Equal(["r1", "r2"], decision.Cancel);
        Assert.Equal(ConcurrencyAction.StartNow, ConcurrencyGroups.Decide(Cancelling, []).Action);
    }

    [Fact]
    public void When_the_lane_frees_the_newest_pending_run_starts()
    {
        Assert.Null(ConcurrencyGroups.NextToStart([new GroupRun("r1", true, T), new GroupRun("r2", false, T)]));
        Assert.Equal("r3", ConcurrencyGroups.NextToStart([new GroupRun("r2", false, T), new GroupRun("r3", false, T.AddSeconds(1))]));
        Assert.Null(ConcurrencyGroups.NextToStart([]));
    }

    [Fact]
    public void Lane_keys_are_the_group_while_it_fits_a_state_key_and_a_hash_beyond()
    {
        Assert.Equal("deploy-prod", ConcurrencyGroups.LaneKey("deploy-prod"));
        var fits = new string('x', ConcurrencyGroups.MaxReadableKeyLength);
        Assert.Equal(fits, ConcurrencyGroups.LaneKey(fits));

        var hashed = ConcurrencyGroups.LaneKey(fits + "x");
        Assert.StartsWith("#sha256:", hashed, StringComparison.Ordinal);
        Assert.Equal(8 + 64, hashed.Length);
        Assert.Equal(hashed, ConcurrencyGroups.LaneKey(fits + "x"));
        Assert.NotEqual(hashed, ConcurrencyGroups.LaneKey(fits + "y"));
        Assert.StartsWith("#sha256:", ConcurrencyGroups.LaneKey("line\nbreak"), StringComparison.Ordinal);
        Assert.StartsWith("#sha256:", ConcurrencyGroups.LaneKey("deploy-😀"), StringComparison.Ordinal);

        // A group written as a hash is hashed again: it cannot share the lane of the group it imitates.
        Assert.NotEqual(hashed, ConcurrencyGroups.LaneKey(hashed));
    }
}
