using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
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
    }

    [Fact]
    public async Task A_document_saved_under_another_name_is_refused()
    {
        var result = await _definitions.SaveAsync("b", "name: a\nsteps:\n  - {id: a, kind: script, run: 'true'}\n", PipelineFormat.Yaml, CancellationToken.None);
        Assert.Equal("name", Assert.Single(result.Problems).Path);
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
    public async Task A_dispatch_redelivered_after_its_step_finished_never_runs_the_step_again()
    {
        var work = Directory.CreateTempSubdirectory("runner-").FullName;
        try
        {
            var pipeline = await SaveAsync("name: once\nsteps:\n  - {id: a, kind: script, run: 'echo ran >> \"$HOME/count\"'}\n");
            var run = (await StartAsync(pipeline)).Run!;
            var published = new RecordingPublisher();
            var options = new RunnerOptions { WorkDirectory = work };
            using var http = new GuardedHttp([], TimeSpan.FromSeconds(5));
            var runner = new StepRunner(_runs, new StepLogStore(_state.Store), published, new ScriptExecutor(options), new HttpStepExecutor(http), new DeployExecutor(http, options), options, _time);
            var dispatch = CloudEventJson.Create(RunStore.Source, PipelineTopics.StepDispatch, new StepDispatchData(run.RunId, "once", "a", 1));

            // The orchestrator has not applied the result yet (nothing here delivers it): the attempt still looks
            // unfinished in the run state, as when the runner died between reporting and acknowledging.
            await runner.HandleAsync(dispatch, new EventContext(PipelineTopics.StepDispatch, StepRunner.Subscription, 1, false), CancellationToken.None);
            await runner.HandleAsync(dispatch, new EventContext(PipelineTopics.StepDispatch, StepRunner.Subscription, 2, true), CancellationToken.None);

            Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(work, "runs", run.RunId, "count")));
            Assert.True(await _runs.IsReportedAsync(run.RunId, "a", 1, CancellationToken.None));
            Assert.Single(published.Topics, PipelineTopics.StepResult + ":started"); // the second delivery did not even report a start
        }
        finally
        {
            Directory.Delete(work, recursive: true);
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

    private sealed class RecordingPublisher : IEventPublisher
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
