using Microsoft.Extensions.Logging.Abstractions;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Parsing;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service;
using Serverless.Pipelines.Service.Orchestration;
using Serverless.Pipelines.Service.Runners;
using Serverless.Pipelines.Service.Runs;
using Serverless.Pipelines.Service.Triggers;
using Serverless.Testing;

namespace Pipelines.Service.Tests;

/// <summary>RunStore and DefinitionStore on a real state store: races, duplicates and timers.</summary>
public abstract class RunStoreContract : IAsyncLifetime
{
    private TemporaryStateStore _state = null!;
    private readonly ManualTime _time = new(new DateTimeOffset(2026, 11, 1, 12, 0, 0, TimeSpan.Zero));
    private RunStore _runs = null!;
    private DefinitionStore _definitions = null!;

    protected abstract Task<TemporaryStateStore> CreateStoreAsync();

    public async ValueTask InitializeAsync()
    {
        _state = await CreateStoreAsync();
        _runs = new RunStore(_state.Store, _time, new RunTimerSignal());
        _definitions = new DefinitionStore(_state.Store, _time);
    }

    public async ValueTask DisposeAsync() => await _state.DisposeAsync();

    private async Task<StoredPipeline> SaveAsync(string yaml)
    {
        var result = await _definitions.SaveAsync(PipelineParser.ParseYaml(yaml).Definition!.Name, yaml, PipelineFormat.Yaml, CancellationToken.None);
        Assert.True(result.Succeeded, string.Join("; ", result.Problems));
        return result.Saved!;
    }

    [Fact]
    public async Task Concurrent_completions_of_parallel_steps_are_never_lost()
    {
        var ids = Enumerable.Range(0, 8).Select(i => $"p{i}").ToList();
        var yaml = "name: fan\nsteps:\n" + string.Concat(ids.Select(id => $"  - {{id: {id}, kind: script, run: 'true'}}\n"))
            + $"  - {{id: join, kind: script, run: 'true', needs: [{string.Join(", ", ids)}]}}\n";
        var run = (await _runs.StartAsync(await SaveAsync(yaml), new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;

        // Every step reports at once, as parallel runners would: each apply must survive the others' ETag changes.
        await Task.WhenAll(ids.Select(id => Task.Run(async () =>
        {
            await _runs.ApplyAsync(run.RunId, new StepStarted(id, 1, _time.Now), null, CancellationToken.None);
            await _runs.ApplyAsync(run.RunId, new StepCompleted(id, 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        })));

        var state = (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State;
        Assert.All(ids, id => Assert.Equal(StepStatus.Succeeded, state.Steps[id].Status));
        Assert.Equal(StepStatus.Queued, state.Steps["join"].Status);
    }

    [Fact]
    public async Task Reports_that_wait_for_their_runs_turn_are_applied_together_in_one_commit()
    {
        var gated = new GatedCommits(_state.Store);
        var runs = new RunStore(gated, _time, new RunTimerSignal());
        var ids = Enumerable.Range(0, 8).Select(i => $"p{i}").ToList();
        var yaml = "name: layer\nsteps:\n" + string.Concat(ids.Select(id => $"  - {{id: {id}, kind: script, run: 'true'}}\n"))
            + $"  - {{id: join, kind: script, run: 'true', needs: [{string.Join(", ", ids)}]}}\n";
        var run = (await runs.StartAsync(await SaveAsync(yaml), new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        foreach (var id in ids)
        {
            await runs.ApplyReportAsync(run.RunId, new StepStarted(id, 1, _time.Now), ("results", $"start-{id}"), CancellationToken.None);
        }

        // The first completion holds the run's turn, its commit held back, while the other seven arrive and wait.
        var commitsBefore = gated.Commits;
        gated.HoldNext();
        var first = runs.ApplyReportAsync(run.RunId, new StepCompleted("p0", 1, StepOutcome.Succeeded, _time.Now), ("results", "end-p0"), CancellationToken.None);
        var rest = ids.Skip(1).Select(id => runs.ApplyReportAsync(run.RunId, new StepCompleted(id, 1, StepOutcome.Succeeded, _time.Now), ("results", $"end-{id}"), CancellationToken.None)).ToList();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (runs.PendingReports(run.RunId) < 7 || !gated.Holding)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{runs.PendingReports(run.RunId)} reports waiting");
            await Task.Delay(10);
        }

        gated.Release();
        await Task.WhenAll([first, .. rest]).WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(2, gated.Commits - commitsBefore);
        var state = (await runs.GetAsync(run.RunId, CancellationToken.None))!.State;
        Assert.All(ids, id => Assert.Equal(StepStatus.Succeeded, state.Steps[id].Status));
        Assert.Equal(StepStatus.Queued, state.Steps["join"].Status);
        Assert.Equal(0, runs.PendingReports(run.RunId));

        // A report delivered again is recognised by its event id, alone or in a group, and changes nothing.
        await runs.ApplyReportAsync(run.RunId, new StepCompleted("p3", 1, StepOutcome.Failed, _time.Now), ("results", "end-p3"), CancellationToken.None);
        Assert.Equal(StepStatus.Succeeded, (await runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["p3"].Status);
    }

    [Fact]
    public async Task A_group_holding_a_report_already_applied_falls_back_to_one_report_at_a_time()
    {
        var gated = new GatedCommits(_state.Store);
        var runs = new RunStore(gated, _time, new RunTimerSignal());
        var yaml = "name: pair\nsteps:\n  - {id: a, kind: script, run: 'true'}\n  - {id: b, kind: script, run: 'true'}\n  - {id: c, kind: script, run: 'true'}\n";
        var run = (await runs.StartAsync(await SaveAsync(yaml), new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        await runs.ApplyReportAsync(run.RunId, new StepStarted("a", 1, _time.Now), ("results", "start-a"), CancellationToken.None);

        // b's start and a redelivery of a's start (same event id) wait together behind c's start.
        gated.HoldNext();
        var holder = runs.ApplyReportAsync(run.RunId, new StepStarted("c", 1, _time.Now), ("results", "start-c"), CancellationToken.None);
        var waiting = new[]
        {
            runs.ApplyReportAsync(run.RunId, new StepStarted("b", 1, _time.Now), ("results", "start-b"), CancellationToken.None),
            runs.ApplyReportAsync(run.RunId, new StepStarted("a", 1, _time.Now), ("results", "start-a"), CancellationToken.None),
        };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (runs.PendingReports(run.RunId) < 2 || !gated.Holding)
        {
            Assert.True(DateTime.UtcNow < deadline, "the reports should be waiting");
            await Task.Delay(10);
        }

        gated.Release();
        await Task.WhenAll([holder, .. waiting]).WaitAsync(TimeSpan.FromSeconds(30));

        var state = (await runs.GetAsync(run.RunId, CancellationToken.None))!.State;
        Assert.Equal([StepStatus.Running, StepStatus.Running, StepStatus.Running], new[] { "a", "b", "c" }.Select(id => state.Steps[id].Status));
        Assert.Single(state.Steps["a"].Attempts);
    }

    [Fact]
    public async Task A_read_that_left_the_value_out_for_a_version_replaced_meanwhile_reads_it_whole()
    {
        // The store leaves a run's JSON out when it is the version this instance decoded; if another report of this
        // instance replaced that version in the meantime, the read must fetch the new one, not decode nothing.
        var racing = new RacingReads(_state.Store);
        var runs = new RunStore(racing, _time, new RunTimerSignal());
        var pipeline = await SaveAsync("name: race\nsteps:\n  - {id: a, kind: script, run: 'true'}\n  - {id: b, kind: script, run: 'true', needs: [a]}\n");
        var run = (await runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        Assert.NotNull(await runs.GetAsync(run.RunId, CancellationToken.None));

        racing.Meanwhile = () => runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        var read = (await runs.GetAsync(run.RunId, CancellationToken.None))!;

        Assert.Equal(1, racing.LeftOut);
        Assert.Equal(StepStatus.Running, read.State.Steps["a"].Status);
    }

    [Fact]
    public async Task A_second_instance_sees_every_change_the_other_made_to_a_run_it_has_read_before()
    {
        // Each RunStore keeps the records it decoded; one on another instance must never serve its stale copy.
        var other = new RunStore(_state.Store, _time, new RunTimerSignal());
        var pipeline = await SaveAsync("name: two\nsteps:\n  - {id: a, kind: script, run: 'true'}\n  - {id: b, kind: script, run: 'true', needs: [a]}\n");
        var run = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        Assert.Equal(StepStatus.Queued, (await other.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"].Status);

        await _runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        Assert.Equal(StepStatus.Running, (await other.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"].Status);

        // The other instance applies the next change on top of the first one's write (its ETag), not on its old copy.
        await other.ApplyAsync(run.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        var seen = (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State;
        Assert.Equal(StepStatus.Succeeded, seen.Steps["a"].Status);
        Assert.Equal(StepStatus.Queued, seen.Steps["b"].Status);
        Assert.Single(seen.Steps["a"].Attempts);
    }

    [Fact]
    public async Task A_run_record_is_stored_compressed_and_one_stored_as_plain_json_before_still_loads_and_applies()
    {
        var steps = Enumerable.Range(0, 20).Select(i => $"s{i}").ToList();
        var yaml = "name: wide\nsteps:\n" + string.Concat(steps.Select((id, i) => $"  - {{id: {id}, kind: script, run: 'echo step {i}'{(i == 0 ? "" : $", needs: [s{i - 1}]")}}}\n"));
        var run = (await _runs.StartAsync(await SaveAsync(yaml), new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        var key = "pipelines||run||" + run.RunId;

        var stored = (await _state.Store.GetAsync(key, CancellationToken.None))!;
        var json = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(CompactJson.Deserialize<RunRecord>(stored.Value.Span, PipelineJson.Options), PipelineJson.Options);
        Assert.True(CompactJson.IsCompressed(stored.Value.Span));
        Assert.True(stored.Value.Length * 3 < json.Length, $"{stored.Value.Length} bytes stored for {json.Length} bytes of JSON");

        // A record written as plain JSON (by a build before compression) is read by an instance that never held it,
        // applies a report, and is written back compressed.
        await _state.Store.SaveAsync(key, json, new StateWriteOptions(ETag: stored.ETag), CancellationToken.None);
        var upgraded = new RunStore(_state.Store, _time, new RunTimerSignal());
        Assert.Equal(StepStatus.Queued, (await upgraded.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["s0"].Status);
        await upgraded.ApplyAsync(run.RunId, new StepStarted("s0", 1, _time.Now), null, CancellationToken.None);
        Assert.True(CompactJson.IsCompressed((await _state.Store.GetAsync(key, CancellationToken.None))!.Value.Span));
        Assert.Equal(StepStatus.Running, (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["s0"].Status);
    }

    [Fact]
    public async Task A_redelivered_result_event_applies_once()
    {
        var pipeline = await SaveAsync("name: one\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var run = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;

        // Without the event id a second start would read as a runner crash and record a restart.
        Assert.NotNull(await _runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), ("pipelines.test", "evt-1"), CancellationToken.None));
        Assert.Null(await _runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), ("pipelines.test", "evt-1"), CancellationToken.None));

        Assert.Single((await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"].Attempts);
    }

    [Fact]
    public async Task A_due_timer_fires_once_and_survives_in_state_until_then()
    {
        var pipeline = await SaveAsync("name: waits\nsteps:\n  - {id: pause, kind: wait, duration: 5m}\n");
        var run = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None));

        // A fresh store object stands for a restarted process: the timer is in the state, not in memory.
        var restarted = new RunStore(_state.Store, _time, new RunTimerSignal());
        _time.Now += TimeSpan.FromMinutes(5);
        var due = Assert.Single(await restarted.DueKeysAsync(10, CancellationToken.None));
        var (runId, timerId) = RunStore.ParseDueKey(due);
        Assert.Equal(run.RunId, runId);

        var fired = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => restarted.ApplyAsync(runId, new TimerFired(timerId, _time.Now), null, CancellationToken.None, due))));
        Assert.Single(fired, t => t is { Ignored: false });
        Assert.Equal(RunStatus.Succeeded, (await _runs.GetAsync(runId, CancellationToken.None))!.State.Status);
        Assert.Empty(await restarted.DueKeysAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task Concurrent_saves_get_distinct_versions_and_old_versions_stay_readable()
    {
        var yaml = "name: multi\nsteps:\n  - {id: a, kind: script, run: 'true'}\n";
        var saved = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(() => _definitions.SaveAsync("multi", yaml, PipelineFormat.Yaml, CancellationToken.None))));

        Assert.Equal([1, 2, 3, 4, 5], saved.Select(s => s.Saved!.Version).Order());
        Assert.Equal(5, (await _definitions.GetAsync("multi", null, CancellationToken.None))!.Version);
        Assert.Equal(2, (await _definitions.GetAsync("multi", 2, CancellationToken.None))!.Version);
        Assert.True(await _definitions.DeleteAsync("multi", CancellationToken.None));
        Assert.Null(await _definitions.GetAsync("multi", 2, CancellationToken.None));
        Assert.Null(await _definitions.GetAsync("multi", null, CancellationToken.None));
        Assert.False(await _definitions.DeleteAsync("multi", CancellationToken.None));

        // Saved again under the same name: numbering goes on, so "version 2" of a listed old run never names the new text.
        var again = await _definitions.SaveAsync("multi", yaml, PipelineFormat.Yaml, CancellationToken.None);
        Assert.Equal(6, again.Saved!.Version);
        Assert.Null(await _definitions.GetAsync("multi", 2, CancellationToken.None));
    }

    [Fact]
    public async Task An_unreadable_stored_definition_never_stops_the_triggers_of_other_pipelines()
    {
        // Found by review: a definition stored with a duration that does not read back ("" for 0.0001s) made the
        // schedule timer and every push fail at it. It is skipped now; the pipelines after it still run.
        await SaveAsync("name: aaa-broken\ntriggers:\n  - {kind: schedule, cron: '*/5 * * * * *'}\nsteps:\n  - {id: a, kind: script, run: 'true', timeout: 1s}\n");
        var stored = (await _state.Store.GetAsync("pipelines||def||aaa-broken||0000000001", CancellationToken.None))!;
        var broken = System.Text.Encoding.UTF8.GetString(stored.Value.Span).Replace("\"timeout\":\"1s\"", "\"timeout\":\"\"", StringComparison.Ordinal);
        Assert.Contains("\"timeout\":\"\"", broken, StringComparison.Ordinal);
        await _state.Store.SaveAsync("pipelines||def||aaa-broken||0000000001", System.Text.Encoding.UTF8.GetBytes(broken), cancellationToken: CancellationToken.None);
        var good = await SaveAsync("name: zzz-good\ntriggers:\n  - {kind: schedule, cron: '*/5 * * * * *'}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");

        var latest = new List<string>();
        await foreach (var pipeline in _definitions.LatestAsync(CancellationToken.None))
        {
            latest.Add(pipeline.Name);
        }

        Assert.Equal(["zzz-good"], latest);
        var timer = new ScheduleTimer(_definitions, _runs, _state.Store, _time);
        var info = new Serverless.BuildingBlocks.Timers.TimerInfo(ScheduleTimer.Name, _time.Now, false, null, _time.Now);
        await timer.RunAsync(info, CancellationToken.None); // the schedule counts from now
        _time.Now += TimeSpan.FromSeconds(5);
        await timer.RunAsync(info, CancellationToken.None);
        Assert.Single((await _runs.ListAsync(good.Name, null, 50, null, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task A_pipeline_whose_push_matching_fails_never_stops_the_others()
    {
        // Found by review: one pipeline's glob threw (regex timeout) and the push failed for every pipeline. Here the
        // failing pipeline is a stored one whose branch list reads back as null, so matching it throws.
        await SaveAsync("name: aaa-odd\ntriggers:\n  - {kind: push, repository: acme/web, branches: [main]}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var key = "pipelines||def||aaa-odd||0000000001";
        var odd = System.Text.Encoding.UTF8.GetString((await _state.Store.GetAsync(key, CancellationToken.None))!.Value.Span).Replace("\"branches\":[\"main\"]", "\"branches\":null", StringComparison.Ordinal);
        Assert.Contains("\"branches\":null", odd, StringComparison.Ordinal);
        await _state.Store.SaveAsync(key, System.Text.Encoding.UTF8.GetBytes(odd), cancellationToken: CancellationToken.None);
        var good = await SaveAsync("name: zzz-good\ntriggers:\n  - {kind: push, repository: acme/web, branches: [main], paths: ['src/**']}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");

        var handler = new PushTriggerHandler(new DefinitionStore(_state.Store, _time), _runs, NullLogger<PushTriggerHandler>.Instance);
        var push = new ScmPushData("acme/web", "refs/heads/main", "0000000000000000000000000000000000000001", "0000000000000000000000000000000000000002", [new ScmPushCommit("2", "m", ["src/" + new string('a', 120)], null, null)], "ana");
        await handler.HandleAsync(CloudEventJson.Create("test", "scm.push", push), new EventContext("scm.push", PushTriggerHandler.Subscription, 1, false), CancellationToken.None);

        Assert.Single((await _runs.ListAsync(good.Name, null, 50, null, CancellationToken.None)).Items);
    }

    [Fact]
    public async Task A_document_saved_under_another_name_is_refused()
    {
        var result = await _definitions.SaveAsync("b", "name: a\nsteps:\n  - {id: a, kind: script, run: 'true'}\n", PipelineFormat.Yaml, CancellationToken.None);
        Assert.Equal("name", Assert.Single(result.Problems).Path);
    }

    [Fact]
    public async Task A_name_mismatch_is_reported_together_with_the_documents_other_problems()
    {
        // Found by review: the mismatch came only in a second 400, after every other problem was fixed.
        var result = await _definitions.SaveAsync("foo", "name: bar\nsteps:\n  - {id: a, kind: script, run: 'true', needs: [bild]}\n", PipelineFormat.Yaml, CancellationToken.None);
        Assert.False(result.Succeeded);
        Assert.Equal(["name", "steps[0].needs[0]"], result.Problems.Select(p => p.Path));
        Assert.Contains("'bar' but it is saved as 'foo'", result.Problems[0].Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pending_run_starts_when_the_running_one_of_its_group_finishes()
    {
        var pipeline = await SaveAsync("name: lane\nconcurrency: {group: deploy}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var first = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        var second = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        var third = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;
        Assert.Equal(RunStatus.Running, first.State.Status);
        Assert.Equal(RunStatus.Queued, second.State.Status);

        // The newer pending run replaced the older one; it starts when the lane frees.
        Assert.Equal(RunStatus.Cancelled, (await _runs.GetAsync(second.RunId, CancellationToken.None))!.State.Status);
        await _runs.ApplyAsync(first.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Running, (await _runs.GetAsync(third.RunId, CancellationToken.None))!.State.Status);
    }

    [Fact]
    public async Task A_group_too_long_for_a_state_key_still_names_one_lane_and_the_run_keeps_it_readable()
    {
        // Once a 400 leaking the storage key ("Invalid state key: a key is at most 512 characters"); found by review.
        var pipeline = await SaveAsync("name: long-lane\nconcurrency: {group: 'deploy-${{ parameters.branch }}'}\nparameters:\n  branch: {type: string}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var branch = new string('b', 2000);
        var other = new string('b', 1999) + "c"; // the same first 512 characters: another group all the same
        Task<StartResult> Start(string value) =>
            _runs.StartAsync(pipeline, new Dictionary<string, string?> { ["branch"] = value }, new Dictionary<string, object?>(), null, CancellationToken.None);

        var first = await Start(branch);
        Assert.Empty(first.Problems);
        Assert.Equal(RunStatus.Running, first.Run!.State.Status);
        Assert.Equal("deploy-" + branch, first.Run.ConcurrencyGroup);
        Assert.Equal(RunStatus.Queued, (await Start(branch)).Run!.State.Status);
        Assert.Equal(RunStatus.Running, (await Start(other)).Run!.State.Status);
        Assert.Equal(RunStatus.Running, (await Start("😀\u0001")).Run!.State.Status); // characters keys refuse

        await _runs.ApplyAsync(first.Run.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Succeeded, await StatusAsync(first.Run.RunId));
    }

    private Task<StartResult> StartAsync(StoredPipeline pipeline, RunStore? store = null) =>
        (store ?? _runs).StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None);

    private async Task<RunStatus> StatusAsync(string runId) => (await _runs.GetAsync(runId, CancellationToken.None))!.State.Status;

    [Fact]
    public async Task The_lane_is_released_and_the_next_run_started_in_the_transaction_that_ends_the_run()
    {
        var pipeline = await SaveAsync("name: atomic\nconcurrency: {group: deploy}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var first = (await StartAsync(pipeline)).Run!;
        var second = (await StartAsync(pipeline)).Run!;
        await _runs.ApplyAsync(first.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);

        // The process dies right after committing the run's end: whatever it would have written next is lost.
        var crashing = new CrashingStateStore(_state.Store);
        var dying = new RunStore(crashing, _time, new RunTimerSignal());
        crashing.CrashAfterNextCommit();
        try
        {
            await dying.ApplyAsync(first.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        }
        catch (IOException)
        {
            // The old code got here between the run's end and the lane's release.
        }

        Assert.Equal(RunStatus.Succeeded, await StatusAsync(first.RunId));
        Assert.Equal(RunStatus.Running, await StatusAsync(second.RunId));

        // And the lane says so: a third run waits behind the second instead of starting beside it.
        var third = (await StartAsync(pipeline)).Run!;
        Assert.Equal(RunStatus.Queued, third.State.Status);
    }

    [Fact]
    public async Task Cancel_in_progress_cancels_the_running_run_and_starts_the_new_one_once_it_stopped()
    {
        var pipeline = await SaveAsync("name: cip\nconcurrency: {group: env, cancelInProgress: true}\nsteps:\n  - {id: a, kind: script, run: 'sleep 60'}\n");
        var first = (await StartAsync(pipeline)).Run!;
        await _runs.ApplyAsync(first.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);

        var second = (await StartAsync(pipeline)).Run!;
        Assert.Equal(RunStatus.Queued, second.State.Status);
        var cancelling = (await _runs.GetAsync(first.RunId, CancellationToken.None))!.State;
        Assert.True(cancelling.CancelRequested);
        Assert.Equal(RunStatus.Running, cancelling.Status); // its script still runs until the runner confirms

        await _runs.ApplyAsync(first.RunId, new StepCompleted("a", 1, StepOutcome.Cancelled, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Cancelled, await StatusAsync(first.RunId));
        Assert.Equal(RunStatus.Running, await StatusAsync(second.RunId));
    }

    [Fact]
    public async Task The_stop_note_changes_only_when_running_steps_must_look_at_their_run()
    {
        var pipeline = await SaveAsync("name: notes\nsteps:\n  - {id: a, kind: script, run: 'sleep 60', timeout: 5m}\n  - {id: b, kind: script, run: 'sleep 60'}\n  - {id: c, kind: script, run: 'true'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var quiet = (await StartAsync(pipeline)).Run!;
        async Task<string?> NoteAsync(string runId) => (await _runs.GetStopNotesAsync([runId], CancellationToken.None)).GetValueOrDefault(runId);

        // Starts and completions, one at a time and grouped: no note.
        await _runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        await Task.WhenAll(
            _runs.ApplyReportAsync(run.RunId, new StepStarted("b", 1, _time.Now), ("results", "start-b"), CancellationToken.None),
            _runs.ApplyReportAsync(run.RunId, new StepStarted("c", 1, _time.Now), ("results", "start-c"), CancellationToken.None),
            _runs.ApplyReportAsync(run.RunId, new StepCompleted("c", 1, StepOutcome.Succeeded, _time.Now), ("results", "end-c"), CancellationToken.None));
        Assert.Null(await NoteAsync(run.RunId));

        // The orchestrator times attempt 1 of a out while its runner still runs it: a note.
        _time.Advance(TimeSpan.FromMinutes(5));
        await _runs.ApplyAsync(run.RunId, new TimerFired("timeout:a:1", _time.Now), null, CancellationToken.None);
        var timedOut = await NoteAsync(run.RunId);
        Assert.NotNull(timedOut);

        // A cancel while b runs changes it; runs without a note are left out of a read of many.
        await _runs.ApplyAsync(run.RunId, new CancelRequested(_time.Now), null, CancellationToken.None);
        var cancelled = await NoteAsync(run.RunId);
        Assert.NotEqual(timedOut, cancelled);
        var notes = await _runs.GetStopNotesAsync([run.RunId, quiet.RunId, "not-a-run-id"], CancellationToken.None);
        Assert.Equal(cancelled, Assert.Single(notes, n => n.Key == run.RunId).Value);
        Assert.Single(notes);

        // A run of a group that a newer run cancels gets its note in the transaction that cancels it.
        var grouped = await SaveAsync("name: notes-group\nconcurrency: {group: env, cancelInProgress: true}\nsteps:\n  - {id: a, kind: script, run: 'sleep 60'}\n");
        var older = (await StartAsync(grouped)).Run!;
        await _runs.ApplyAsync(older.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        Assert.Null(await NoteAsync(older.RunId));
        await StartAsync(grouped);
        Assert.True((await _runs.GetAsync(older.RunId, CancellationToken.None))!.State.CancelRequested);
        Assert.NotNull(await NoteAsync(older.RunId));
    }

    [Fact]
    public async Task Cancel_in_progress_starts_the_new_run_at_once_when_the_cancel_ends_the_old_one()
    {
        // An approval step is cancelled at once, so nothing is left to wait for.
        var pipeline = await SaveAsync("name: cip-gate\nconcurrency: {group: env, cancelInProgress: true}\nsteps:\n  - {id: gate, kind: approval, approvers: [ana]}\n");
        var first = (await StartAsync(pipeline)).Run!;
        var second = (await StartAsync(pipeline)).Run!;

        Assert.Equal(RunStatus.Running, second.State.Status);
        Assert.Equal(RunStatus.Cancelled, await StatusAsync(first.RunId));
    }

    [Fact]
    public async Task A_retried_run_takes_its_groups_lane_again_or_is_refused_while_another_run_holds_it()
    {
        var pipeline = await SaveAsync("name: retry-lane\nconcurrency: {group: g2}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var first = (await StartAsync(pipeline)).Run!;
        await _runs.ApplyAsync(first.RunId, new StepCompleted("a", 1, StepOutcome.Failed, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Failed, await StatusAsync(first.RunId));
        var second = (await StartAsync(pipeline)).Run!;
        Assert.Equal(RunStatus.Running, second.State.Status);

        // The group is busy: the retry is refused and says why; the failed run stays as it was.
        var refused = await _runs.ApplyAsync(first.RunId, new RetryRequested(_time.Now), null, CancellationToken.None);
        Assert.True(refused!.Ignored);
        Assert.Contains($"has run {second.RunId} in progress", refused.IgnoredBecause, StringComparison.Ordinal);
        Assert.Equal(RunStatus.Failed, await StatusAsync(first.RunId));

        // Free again: the retry runs and holds the lane, so a new run now waits behind it.
        await _runs.ApplyAsync(second.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        Assert.False((await _runs.ApplyAsync(first.RunId, new RetryRequested(_time.Now), null, CancellationToken.None))!.Ignored);
        Assert.Equal(RunStatus.Running, await StatusAsync(first.RunId));
        var third = (await StartAsync(pipeline)).Run!;
        Assert.Equal(RunStatus.Queued, third.State.Status);
        await _runs.ApplyAsync(first.RunId, new StepCompleted("a", 2, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Running, await StatusAsync(third.RunId));
    }

    [Fact]
    public async Task The_newest_pending_run_replaces_every_older_pending_one()
    {
        var pipeline = await SaveAsync("name: replace\nconcurrency: {group: g}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var running = (await StartAsync(pipeline)).Run!;
        var pending = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            pending.Add((await StartAsync(pipeline)).Run!.RunId);
        }

        foreach (var older in pending[..^1])
        {
            var state = (await _runs.GetAsync(older, CancellationToken.None))!.State;
            Assert.Equal(RunStatus.Cancelled, state.Status);
            Assert.Null(state.StartedAt); // it never ran a step
        }

        Assert.Equal(RunStatus.Queued, await StatusAsync(pending[^1]));
        await _runs.ApplyAsync(running.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None);
        Assert.Equal(RunStatus.Running, await StatusAsync(pending[^1]));
        Assert.All(pending[..^1], id => Assert.Equal(RunStatus.Cancelled, StatusAsync(id).GetAwaiter().GetResult()));
    }

    [Fact]
    public async Task The_read_before_a_claim_gives_the_current_run_and_whether_that_attempt_was_reported()
    {
        var other = new RunStore(_state.Store, _time, new RunTimerSignal());
        var pipeline = await SaveAsync("name: claim\nsteps:\n  - {id: a, kind: script, run: 'true'}\n  - {id: b, kind: script, run: 'true'}\n");
        var run = (await _runs.StartAsync(pipeline, new Dictionary<string, string?>(), new Dictionary<string, object?>(), null, CancellationToken.None)).Run!;

        var (before, reportedBefore) = await _runs.GetForAttemptAsync(run.RunId, "a", 1, CancellationToken.None);
        Assert.Equal(StepStatus.Queued, before!.State.Steps["a"].Status);
        Assert.False(reportedBefore);

        // Another instance changes the run after this one decoded it: the read gives the new version, not the held one.
        await other.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        Assert.True(await other.RecordResultAsync(new StepResultData(run.RunId, "a", 1, StepOutcome.Succeeded, _time.Now), CancellationToken.None));
        var (after, reportedAfter) = await _runs.GetForAttemptAsync(run.RunId, "a", 1, CancellationToken.None);
        Assert.Equal(StepStatus.Running, after!.State.Steps["a"].Status);
        Assert.True(reportedAfter);

        // Only that step's attempt counts as reported.
        Assert.False((await _runs.GetForAttemptAsync(run.RunId, "a", 2, CancellationToken.None)).Reported);
        Assert.False((await _runs.GetForAttemptAsync(run.RunId, "b", 1, CancellationToken.None)).Reported);

        var unknown = TimeOrderedId.Next(_time.Now);
        Assert.Equal((null, false), await _runs.GetForAttemptAsync(unknown, "a", 1, CancellationToken.None));
        Assert.Equal((null, false), await _runs.GetForAttemptAsync("not-a-run-id", "a", 1, CancellationToken.None));
    }

    [Fact]
    public async Task A_dispatch_redelivered_after_its_step_finished_never_runs_the_step_again()
    {
        using var runner = NewRunner();
        var pipeline = await SaveAsync("name: once\nsteps:\n  - {id: a, kind: script, run: 'echo ran >> \"$HOME/count\"'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var dispatch = Dispatch(run, "a", 1);

        // The orchestrator has not applied the result yet (nothing here delivers it): the attempt still looks
        // unfinished in the run state, as when a dispatch is delivered again after the runner finished.
        await runner.Runner.HandleAsync(dispatch, DispatchContext(false), CancellationToken.None);
        await WaitUntilAsync(() => _runs.IsReportedAsync(run.RunId, "a", 1, CancellationToken.None), "the step to finish");
        await runner.Runner.HandleAsync(dispatch, DispatchContext(true), CancellationToken.None);
        await WaitUntilAsync(() => Task.FromResult(runner.Slots.InUse == 0), "the runner to be idle");

        Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(runner.Work, "runs", run.RunId, "count")));
        var lease = (await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!;
        Assert.True(lease.Ended);
        Assert.Equal(runner.Slots.InstanceId, lease.Runner);
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None)); // the lease's expiry entry went with the report
    }

    [Fact]
    public async Task A_redelivered_dispatch_of_an_attempt_another_runner_holds_is_left_to_that_runner()
    {
        using var runner = NewRunner();
        var pipeline = await SaveAsync("name: held\nsteps:\n  - {id: a, kind: script, run: 'echo ran >> \"$HOME/count\"'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        Assert.NotNull(await _runs.AcquireLeaseAsync(new StepResultData(run.RunId, "a", 1, null, _time.Now), "another-runner", TimeSpan.FromSeconds(60), CancellationToken.None));

        await runner.Runner.HandleAsync(Dispatch(run, "a", 1), DispatchContext(true), CancellationToken.None);

        Assert.Equal(0, runner.Slots.InUse);
        Assert.False(File.Exists(Path.Combine(runner.Work, "runs", run.RunId, "count")));
        Assert.Equal("another-runner", (await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!.Runner);
    }

    [Fact]
    public async Task The_dispatch_is_acknowledged_while_the_step_runs_and_the_lease_is_renewed_until_it_ends()
    {
        using var runner = NewRunner();
        var pipeline = await SaveAsync("name: long\nsteps:\n  - {id: a, kind: script, run: 'touch \"$HOME/started\"; while [ ! -f \"$HOME/go\" ]; do sleep 0.05; done; echo done'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var directory = Path.Combine(runner.Work, "runs", run.RunId);

        // The handler returns (the transport acknowledges) although the step has not even started its script yet.
        await runner.Runner.HandleAsync(Dispatch(run, "a", 1), DispatchContext(false), CancellationToken.None);
        Assert.Equal(1, runner.Slots.InUse);
        await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(directory, "started"))), "the script to start");
        var first = (await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!;
        Assert.Equal(_time.Now + runner.Options.LeaseDuration, first.Until);

        // A third of the lease later the watcher renews it, and its expiry entry moves along.
        _time.Now += runner.Options.LeaseRenewalInterval;
        await WaitUntilAsync(async () => (await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!.Until > first.Until, "the lease to be renewed");
        _time.Now = first.Until + TimeSpan.FromSeconds(1);
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None));

        await File.WriteAllTextAsync(Path.Combine(directory, "go"), string.Empty);
        await WaitUntilAsync(() => _runs.IsReportedAsync(run.RunId, "a", 1, CancellationToken.None), "the step to finish");
        await WaitUntilAsync(() => Task.FromResult(runner.Slots.InUse == 0), "the slot to be freed");
        Assert.True((await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!.Ended);
        _time.Now += TimeSpan.FromHours(1);
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None));
    }

    [Fact]
    public async Task A_full_runner_waits_for_a_slot_before_it_takes_the_next_dispatch()
    {
        using var runner = NewRunner(slots: 1);
        var pipeline = await SaveAsync("name: slots\nsteps:\n  - {id: a, kind: script, run: 'touch \"$HOME/started\"; while [ ! -f \"$HOME/go-a\" ]; do sleep 0.05; done'}\n  - {id: b, kind: script, run: 'echo b > \"$HOME/b\"'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var directory = Path.Combine(runner.Work, "runs", run.RunId);

        await runner.Runner.HandleAsync(Dispatch(run, "a", 1), DispatchContext(false), CancellationToken.None);
        var second = runner.Runner.HandleAsync(Dispatch(run, "b", 1), DispatchContext(false), CancellationToken.None);

        // The second dispatch stays in hand, unacknowledged and unclaimed, while the only slot is taken.
        Assert.False(second.IsCompleted);
        Assert.Null(await _runs.GetLeaseAsync(run.RunId, "b", 1, CancellationToken.None));
        Assert.Equal(1, runner.Slots.InUse);
        await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(directory, "started"))), "the first script to start");
        Assert.False(second.IsCompleted);

        await File.WriteAllTextAsync(Path.Combine(directory, "go-a"), string.Empty);
        await second.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitUntilAsync(() => _runs.IsReportedAsync(run.RunId, "b", 1, CancellationToken.None), "the second step to run");
        Assert.True(await _runs.IsReportedAsync(run.RunId, "a", 1, CancellationToken.None));
    }

    [Fact]
    public async Task A_lapsed_lease_has_the_attempt_recorded_lost_and_dispatched_once_more()
    {
        var pipeline = await SaveAsync("name: lapse\nsteps:\n  - {id: a, kind: script, run: 'true', timeout: 10m}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var lease = (await _runs.AcquireLeaseAsync(new StepResultData(run.RunId, "a", 1, null, _time.Now), "dead-runner", TimeSpan.FromSeconds(30), CancellationToken.None))!;
        await _runs.ApplyAsync(run.RunId, new StepStarted("a", 1, _time.Now), null, CancellationToken.None);
        _time.Now += TimeSpan.FromSeconds(29);
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None));

        _time.Now += TimeSpan.FromSeconds(2);
        var due = Assert.Single(await _runs.DueKeysAsync(10, CancellationToken.None));
        var (runId, timerId) = RunStore.ParseDueKey(due);
        Assert.True(RunStore.IsLeaseTimer(timerId));

        // Two orchestrators see it due at once: the attempt is lost once and dispatched once more.
        var fired = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => _runs.ExpireLeaseAsync(runId, timerId, due, CancellationToken.None))));
        var transition = Assert.Single(fired, t => t is { Ignored: false })!;
        Assert.Equal(new DispatchStep("a", 2, TimeSpan.Zero), Assert.Single(transition.Commands.OfType<DispatchStep>()));
        var step = (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"];
        Assert.Equal(StepStatus.Queued, step.Status);
        Assert.Equal(AttemptOutcome.Lost, step.Attempts[0].Outcome);
        Assert.Equal(2, step.Attempts[1].Number);
        Assert.Equal(1, step.Attempts[1].RestartOf);
        Assert.True((await _runs.GetLeaseAsync(run.RunId, "a", 1, CancellationToken.None))!.Ended);

        // The old runner (alive after all, say) learns it lost the lease; its report no longer counts.
        Assert.Null(await _runs.RenewLeaseAsync(lease, TimeSpan.FromSeconds(30), CancellationToken.None));
        Assert.False(await _runs.RecordResultAsync(new StepResultData(run.RunId, "a", 1, StepOutcome.Succeeded, _time.Now), CancellationToken.None, lease));
        Assert.True((await _runs.ApplyAsync(run.RunId, new StepCompleted("a", 1, StepOutcome.Succeeded, _time.Now), null, CancellationToken.None))!.Ignored);

        // Nothing else is due: the timeout timer of the lost attempt went with it.
        _time.Now += TimeSpan.FromHours(1);
        Assert.Empty(await _runs.DueKeysAsync(10, CancellationToken.None));
        Assert.Equal(StepStatus.Queued, (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"].Status);
    }

    [Fact]
    public async Task A_lease_ended_by_the_final_report_never_has_the_step_run_again()
    {
        var pipeline = await SaveAsync("name: ended\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var run = (await StartAsync(pipeline)).Run!;
        var lease = (await _runs.AcquireLeaseAsync(new StepResultData(run.RunId, "a", 1, null, _time.Now), "runner", TimeSpan.FromSeconds(30), CancellationToken.None))!;
        _time.Now += TimeSpan.FromSeconds(31);
        var due = Assert.Single(await _runs.DueKeysAsync(10, CancellationToken.None));

        // The report commits just before the orchestrator acts on the due entry it listed.
        Assert.True(await _runs.RecordResultAsync(new StepResultData(run.RunId, "a", 1, StepOutcome.Succeeded, _time.Now), CancellationToken.None, lease));
        var (runId, timerId) = RunStore.ParseDueKey(due);
        Assert.Null(await _runs.ExpireLeaseAsync(runId, timerId, due, CancellationToken.None));
        var step = (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"];
        Assert.Single(step.Attempts);
        Assert.Null(step.Attempts[0].Outcome);
    }

    [Fact]
    public async Task A_stopping_runner_abandons_its_step_and_gives_the_lease_up_for_an_immediate_restart()
    {
        var runner = NewRunner();
        try
        {
            var pipeline = await SaveAsync("name: stop\nsteps:\n  - {id: a, kind: script, run: 'touch \"$HOME/started\"; sleep 60'}\n");
            var run = (await StartAsync(pipeline)).Run!;
            await runner.Runner.HandleAsync(Dispatch(run, "a", 1), DispatchContext(false), CancellationToken.None);
            await WaitUntilAsync(() => Task.FromResult(File.Exists(Path.Combine(runner.Work, "runs", run.RunId, "started"))), "the script to start");

            await runner.Slots.StoppingAsync(CancellationToken.None);
            Assert.Equal(0, runner.Slots.InUse);

            // A dispatch arriving now is held, never taken (nor acknowledged) until the transport gives it up.
            using var transportStops = new CancellationTokenSource();
            var late = runner.Runner.HandleAsync(Dispatch(run, "a", 1), DispatchContext(false), transportStops.Token);
            Assert.False(late.IsCompleted);
            await transportStops.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => late);

            await runner.Slots.StopAsync(CancellationToken.None);
            await runner.Slots.StoppedAsync(CancellationToken.None);
            Assert.False(await _runs.IsReportedAsync(run.RunId, "a", 1, CancellationToken.None));
            var due = Assert.Single(await _runs.DueKeysAsync(10, CancellationToken.None)); // due now, not a lease later
            var (runId, timerId) = RunStore.ParseDueKey(due);
            Assert.False((await _runs.ExpireLeaseAsync(runId, timerId, due, CancellationToken.None))!.Ignored);
            Assert.Equal(2, (await _runs.GetAsync(run.RunId, CancellationToken.None))!.State.Steps["a"].CurrentAttempt!.Number);
        }
        finally
        {
            runner.Dispose();
        }
    }

    [Fact]
    public async Task A_stored_publish_step_to_a_platform_topic_is_refused_when_it_runs()
    {
        // Found by review: a publish step forged pipeline.step.result for another run. A definition stored before
        // the save-time rule is refused by the runner too, and publishes nothing.
        using var runner = NewRunner();
        var definition = new Serverless.Pipelines.Definitions.PipelineDefinition
        {
            Name = "forge",
            Steps = [new Serverless.Pipelines.Definitions.PublishStep { Id = "p", Topic = PipelineTopics.StepResult, Data = new Dictionary<string, string> { ["runId"] = "victim", ["stepId"] = "tests", ["outcome"] = "Succeeded" } }],
        };
        var run = (await StartAsync(new StoredPipeline("forge", 1, "yaml", "legacy", definition, _time.Now))).Run!;

        await runner.Runner.HandleAsync(Dispatch(run, "p", 1), DispatchContext(false), CancellationToken.None);
        await WaitUntilAsync(() => _runs.IsReportedAsync(run.RunId, "p", 1, CancellationToken.None), "the step to finish");
        await WaitUntilAsync(() => Task.FromResult(runner.Slots.InUse == 0), "the runner to be idle");

        Assert.Empty(runner.Publisher.Topics);
        var (log, _) = await new StepLogStore(_state.Store).ReadAsync(run.RunId, "p", 1, 0, CancellationToken.None);
        Assert.Contains("refused", log, StringComparison.Ordinal);
        Assert.Contains("platform topic", log, StringComparison.Ordinal);
    }

    private static Azure.Messaging.CloudEvent Dispatch(RunRecord run, string stepId, int attempt) =>
        CloudEventJson.Create(RunStore.Source, PipelineTopics.StepDispatch, new StepDispatchData(run.RunId, run.Pipeline, stepId, attempt));

    private static EventContext DispatchContext(bool redelivered) => new(PipelineTopics.StepDispatch, StepRunner.Subscription, 1, redelivered);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private TestRunner NewRunner(int slots = 16) => new(_runs, _state.Store, _time, slots);

    /// <summary>A step runner on this store with its own work directory, as the module wires it.</summary>
    private sealed class TestRunner : IDisposable
    {
        private readonly GuardedHttp _http;

        public TestRunner(RunStore runs, IStateStore store, TimeProvider time, int slots)
        {
            Work = Directory.CreateTempSubdirectory("runner-").FullName;
            Options = new RunnerOptions { WorkDirectory = Work, Slots = slots, CancelPollInterval = TimeSpan.FromMilliseconds(20), RunCheckInterval = TimeSpan.FromHours(1) };
            _http = new GuardedHttp([], TimeSpan.FromSeconds(5));
            Slots = new RunnerSlots(Options, runs, NullLogger<RunnerSlots>.Instance);
            Runner = new StepRunner(runs, new StepLogStore(store), Publisher, new ScriptExecutor(Options), new HttpStepExecutor(_http), new DeployExecutor(_http, Options), Options, Slots, time, NullLogger<StepRunner>.Instance);
        }

        public string Work { get; }

        public RecordingPublisher Publisher { get; } = new();

        public RunnerOptions Options { get; }

        public RunnerSlots Slots { get; }

        public StepRunner Runner { get; }

        public void Dispose()
        {
            // Stop the steps still running (a failed test) before their directory goes.
            Slots.StoppingAsync(CancellationToken.None).GetAwaiter().GetResult();
            Slots.Dispose();
            _http.Dispose();
            Directory.Delete(Work, recursive: true);
        }
    }

    [Fact]
    public async Task A_schedule_missed_during_downtime_starts_exactly_one_past_due_run()
    {
        var pipeline = await SaveAsync("name: nightly\ntriggers:\n  - {kind: schedule, cron: '0 0 3 * * *'}\nsteps:\n  - {id: a, kind: script, run: 'true'}\n");
        var timer = new ScheduleTimer(_definitions, _runs, _state.Store, _time);
        var info = new Serverless.BuildingBlocks.Timers.TimerInfo(ScheduleTimer.Name, _time.Now, false, null, _time.Now);
        async Task<List<RunSummary>> RunsAsync() => [.. (await _runs.ListAsync(pipeline.Name, null, 50, null, CancellationToken.None)).Items];

        await timer.RunAsync(info, CancellationToken.None); // 12:00: the schedule counts from now
        Assert.Empty(await RunsAsync());

        // Down for three days and a bit: three 03:00 occurrences passed; one catch-up run, for the latest of them.
        _time.Now += TimeSpan.FromDays(3);
        await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => new ScheduleTimer(_definitions, _runs, _state.Store, _time).RunAsync(info, CancellationToken.None))));
        var catchUp = Assert.Single(await RunsAsync());
        var trigger = (await _runs.GetAsync(catchUp.RunId, CancellationToken.None))!.State.Trigger;
        Assert.Equal(true, trigger["pastDue"] is System.Text.Json.JsonElement e ? e.GetBoolean() : trigger["pastDue"]);
        Assert.Equal("2026-11-04T03:00:00.0000000+00:00", trigger["scheduledTime"]?.ToString());

        await timer.RunAsync(info, CancellationToken.None); // the same moment again: nothing new
        Assert.Single(await RunsAsync());

        // Up at the next occurrence: an on-time run, not past due.
        _time.Now = new DateTimeOffset(2026, 11, 5, 3, 0, 2, TimeSpan.Zero);
        await timer.RunAsync(info, CancellationToken.None);
        var runs = await RunsAsync();
        Assert.Equal(2, runs.Count);
        var onTime = (await _runs.GetAsync(runs[0].RunId, CancellationToken.None))!.State.Trigger;
        Assert.Equal(false, onTime["pastDue"] is System.Text.Json.JsonElement f ? f.GetBoolean() : onTime["pastDue"]);
    }

    internal sealed class RecordingPublisher : IEventPublisher
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Topics { get; } = new();

        public Task PublishAsync(string topic, Azure.Messaging.CloudEvent cloudEvent, CancellationToken cancellationToken = default)
        {
            var result = cloudEvent.Data?.ToObjectFromJson<StepResultData>(System.Text.Json.JsonSerializerOptions.Web);
            Topics.Enqueue(topic + (result is { Outcome: null } ? ":started" : string.Empty));
            return Task.CompletedTask;
        }
    }
}

public sealed class SqliteRunStoreTests : RunStoreContract
{
    protected override Task<TemporaryStateStore> CreateStoreAsync() => TemporaryStateStore.SqliteAsync();
}

public sealed class PostgresRunStoreTests : RunStoreContract
{
    protected override Task<TemporaryStateStore> CreateStoreAsync() => TemporaryStateStore.PostgresAsync("pipelines");
}

/// <summary>A store whose next value-less read lets <see cref="Meanwhile"/> run between reading and answering.</summary>
internal sealed class RacingReads(IStateStore inner) : DelegatingStateStore(inner)
{
    public Func<Task>? Meanwhile { get; set; }

    public int LeftOut { get; private set; }

    public override async Task<StateItem?> GetIfChangedAsync(string key, string? knownETag, CancellationToken cancellationToken = default)
    {
        var item = await Inner.GetIfChangedAsync(key, knownETag, cancellationToken);
        if (item is { Value.IsEmpty: true } && Meanwhile is { } meanwhile)
        {
            Meanwhile = null;
            LeftOut++;
            await meanwhile();
        }

        return item;
    }
}

/// <summary>A store that can hold back its next commit until released, and counts commits.</summary>
internal sealed class GatedCommits(IStateStore inner) : DelegatingStateStore(inner)
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _armed;
    private int _commits;
    private volatile bool _holding;

    public int Commits => Volatile.Read(ref _commits);

    public bool Holding => _holding;

    /// <summary>The next commit waits for <see cref="Release"/> (once per store).</summary>
    public void HoldNext() => Volatile.Write(ref _armed, 1);

    public void Release() => _released.TrySetResult();

    public override async Task<IReadOnlyList<string>> TransactAsync(StateTransaction transaction, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _armed, 0) == 1)
        {
            _holding = true;
            await _released.Task;
        }

        Interlocked.Increment(ref _commits);
        return await Inner.TransactAsync(transaction, cancellationToken);
    }
}
