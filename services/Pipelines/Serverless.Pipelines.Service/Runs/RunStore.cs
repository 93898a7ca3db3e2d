using System.Globalization;
using System.Text.Json;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.Pipelines.Concurrency;
using Serverless.Pipelines.Definitions;
using Serverless.Pipelines.Runs;
using Serverless.Pipelines.Service.Definitions;
using Serverless.Pipelines.Service.Orchestration;

namespace Serverless.Pipelines.Service.Runs;

/// <summary>
/// Runs on the state store. Every change is load → <see cref="RunStateMachine.Apply"/> → one transaction that saves
/// the state with its ETag AND turns the commands into outbox events and due timers: two step completions racing
/// retry on the ETag instead of losing an update, and a crash can never save a state whose dispatch is lost.
/// </summary>
/// <remarks>
/// Keys: <c>pipelines||run||{id}</c> (the record, Brotli-compressed JSON: <see cref="CompactJson"/>), <c>pipelines||runs||{pipeline}||{inverted ticks}||{id}</c> (summary,
/// newest first), <c>pipelines||due||{ticks}||{id}||{timer}</c> (timers by due time), <c>pipelines||group||{group}</c> (a long group hashed: <see cref="ConcurrencyGroups.LaneKey"/>)
/// (concurrency lanes), <c>pipelines||reported||{id}||{step}||{attempt}</c> (a runner's final report of a dispatched attempt),
/// <c>pipelines||lease||{id}||{step}||{attempt}</c> (the runner holding an attempt, <see cref="StepLease"/>; its expiry is a
/// due entry with the timer id <c>lease:{step}:{attempt}</c>), <c>pipelines||stop||{id}</c> (the run's stop note: rewritten in the
/// record's transaction whenever its running steps' runners must look at the run, <see cref="RunningAttempts.MustNotice"/>).
/// </remarks>
public sealed class RunStore(IStateStore state, TimeProvider time, RunTimerSignal timerSignal)
{
    public const string Source = "/pipelines";

    private readonly KeyedLock _runTurns = new();

    // Runner reports waiting for their run's turn, by run id (ApplyReportAsync): whoever gets the turn applies them all.
    private readonly Dictionary<string, List<PendingReport>> _pendingReports = new(StringComparer.Ordinal);

    // Decoded records by run id with the ETag they were read or written with: a record is read far more often than it
    // changes (runners check it before and while they run a step, reports load it), and decoding the JSON of a run with
    // its pinned definition was the largest single cost of a no-op step. The store stays the truth: every read still
    // fetches the stored ETag, and only an identical ETag reuses the decoded (immutable) record.
    private readonly DecodedRecords _decoded = new();

    /// <summary>Timer ids of delayed dispatches (retry backoff); the state machine's own timers use other purposes.</summary>
    public const string DispatchTimerPurpose = "dispatch";

    /// <summary>Timer ids of lease expiries: the runners keep them ahead of time by renewing; the orchestrator fires the ones left behind.</summary>
    public const string LeaseTimerPurpose = "lease";

    private const string RunPrefix = "pipelines||run||";
    private const string IndexPrefix = "pipelines||runs||";
    public const string DuePrefix = "pipelines||due||";
    private const string GroupPrefix = "pipelines||group||";
    private const string ReportedPrefix = "pipelines||reported||";
    private const string LeasePrefix = "pipelines||lease||";
    private const string StopPrefix = "pipelines||stop||";
    private const int MaxConflicts = 50;

    /// <summary>A stop note is only looked at while a step of its run runs; it expires this long after its last change.</summary>
    private static readonly TimeSpan StopNoteLifetime = TimeSpan.FromDays(2);

    public async Task<RunRecord?> GetAsync(string runId, CancellationToken cancellationToken) =>
        TimeOrderedId.IsWellFormed(runId) ? (await LoadAsync(runId, cancellationToken).ConfigureAwait(false))?.Value : null;

    /// <summary>
    /// The ETags of the stop notes of <paramref name="runIds"/> (runs without one are left out), in one round trip: a
    /// running step's runner reads its run again only when the note changed (<see cref="RunningAttempts.MustNotice"/>).
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> GetStopNotesAsync(IReadOnlyCollection<string> runIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runIds);
        var keys = runIds.Where(TimeOrderedId.IsWellFormed).Select(runId => StopPrefix + runId).ToList();
        var notes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (keys.Count > 0)
        {
            foreach (var item in await state.GetBulkAsync(keys, cancellationToken).ConfigureAwait(false))
            {
                notes[item.Key[StopPrefix.Length..]] = item.ETag;
            }
        }

        return notes;
    }

    /// <summary>
    /// What a runner needs before it claims a dispatched attempt, in one round trip where the store allows: the run
    /// (null when it does not exist) and whether a runner already recorded the end of that attempt (see
    /// <see cref="IsReportedAsync"/>).
    /// </summary>
    public async Task<(RunRecord? Run, bool Reported)> GetForAttemptAsync(string runId, string stepId, int attempt, CancellationToken cancellationToken)
    {
        if (!TimeOrderedId.IsWellFormed(runId))
        {
            return (null, false);
        }

        var runKey = RunPrefix + runId;
        var reportedKey = ReportedKey(runId, stepId, attempt);
        RunRecord? run = null;
        var reported = false;
        foreach (var item in await state.GetBulkIfChangedAsync([new(runKey, _decoded.ETagOf(runId)), new(reportedKey, null)], cancellationToken).ConfigureAwait(false))
        {
            if (item.Key == reportedKey)
            {
                reported = true;
            }
            else if (item.Key == runKey)
            {
                run = (await ResolveAsync(runId, item, cancellationToken).ConfigureAwait(false))?.Value;
            }
        }

        if (run is null)
        {
            _decoded.Forget(runId);
        }

        return (run, reported);
    }


    /// <summary>
    /// Creates a run of the pipeline's saved version and starts it, unless its concurrency group is busy (then it waits
    /// in the lane). <paramref name="extra"/> joins the creating transaction (a schedule's bookkeeping, so a run and
    /// the note that it was started commit together).
    /// </summary>
    public async Task<StartResult> StartAsync(StoredPipeline pipeline, IReadOnlyDictionary<string, string?> given, IReadOnlyDictionary<string, object?> trigger, Action<StateTransaction>? extra, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        var definition = pipeline.Definition;
        var (parameters, problems) = RunParameters.Resolve(definition, given);
        if (problems.Count > 0)
        {
            return new StartResult(null, problems);
        }

        var machine = RunStateMachine.For(definition);
        for (var conflict = 0; ; conflict++)
        {
            var now = time.GetUtcNow();
            var runId = TimeOrderedId.Next(now);
            var record = new RunRecord
            {
                RunId = runId,
                Pipeline = pipeline.Name,
                Version = pipeline.Version,
                Definition = definition,
                State = machine.Create(runId, parameters, trigger, now),
            };
            var transaction = new StateTransaction();
            extra?.Invoke(transaction);
            var start = true;
            var cancelled = new List<(RunRecord Record, RunTransition Transition)>();
            if (definition.Concurrency is { } spec)
            {
                var group = ConcurrencyGroups.ResolveGroup(spec, parameters, trigger);
                record = record with { ConcurrencyGroup = group };
                var laneKey = LaneStateKey(group);
                var lane = await state.GetJsonAsync<ConcurrencyLane>(laneKey, cancellationToken).ConfigureAwait(false);
                var runs = lane?.Value.Runs ?? [];
                var decision = ConcurrencyGroups.Decide(spec, runs);

                // The superseded runs are cancelled in this same transaction (with their ETags), so a crash cannot
                // leave a replaced pending run waiting forever outside its lane. Pending ones leave the lane now;
                // running ones when they finish, unless the cancel finished them at once (nothing was running).
                var kept = new List<GroupRun>();
                foreach (var member in runs)
                {
                    if (!decision.Cancel.Contains(member.RunId))
                    {
                        kept.Add(member);
                        continue;
                    }

                    var other = await LoadAsync(member.RunId, cancellationToken).ConfigureAwait(false);
                    if (other is null)
                    {
                        continue;
                    }

                    var cancel = RunStateMachine.For(other.Value.Definition).Apply(other.Value.State, new CancelRequested(now) { By = $"concurrency group (superseded by {runId})" });
                    var after = other.Value;
                    if (!cancel.Ignored)
                    {
                        after = Carry(other.Value, cancel, transaction, null);
                        StageRecord(transaction, after, new StateWriteOptions(ETag: other.ETag), other.Value, []);
                        cancelled.Add((after, cancel));
                    }

                    if (member.IsRunning && !after.State.Status.IsTerminal())
                    {
                        kept.Add(member);
                    }
                }

                start = kept.Count == 0;
                kept.Add(new GroupRun(runId, start, now));
                transaction.UpsertJson(laneKey, new ConcurrencyLane(group, kept), lane is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: lane.ETag));
            }

            RunTransition? started = null;
            if (start)
            {
                started = machine.Apply(record.State, new RunStarted(now));
                record = Carry(record, started, transaction, null);
            }

            var recordWrite = StageRecord(transaction, record, new StateWriteOptions(OnlyIfAbsent: true));
            IReadOnlyList<string> etags;
            try
            {
                etags = await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            }
            catch (ETagMismatchException ex) when (!ex.Key.StartsWith(GroupPrefix, StringComparison.Ordinal) && !ex.Key.StartsWith(RunPrefix, StringComparison.Ordinal))
            {
                // The caller's own bookkeeping in `extra` conflicted: another delivery or instance started this run already.
                return new StartResult(null, []) { Duplicate = true };
            }
            catch (ETagMismatchException) when (conflict < MaxConflicts)
            {
                continue;
            }

            _decoded.Remember(runId, record, etags[recordWrite]);
            AfterCommit(record, started);
            foreach (var (other, transition) in cancelled)
            {
                AfterCommit(other, transition);
            }

            return new StartResult(record, []);
        }
    }

    /// <summary>
    /// Applies an event to a run. With <paramref name="dedupe"/> (subscription, event id) a redelivered event applies
    /// once. With <paramref name="dueKey"/> the timer entry is consumed in the same transaction, so a timer fires once
    /// even when two instances see it due. Null when the run does not exist or the event was a duplicate.
    /// </summary>
    /// <remarks>
    /// <paramref name="precondition"/> runs on every try before the event is applied and may add writes (with ETags) to
    /// the transaction; when it returns false the event is not applied and only the due entry is consumed.
    /// </remarks>
    public async Task<RunTransition?> ApplyAsync(string runId, RunEvent runEvent, (string Subscription, string EventId)? dedupe, CancellationToken cancellationToken, string? dueKey = null, Func<StateTransaction, CancellationToken, Task<bool>>? precondition = null)
    {
        ArgumentNullException.ThrowIfNull(runEvent);

        // Reports of a run's parallel steps arrive together: applied one at a time here rather than racing on the run's
        // ETag (each lost race cost a read, a state machine pass and a write, and delayed the next layer's dispatch).
        using var turn = await _runTurns.EnterAsync(runId, cancellationToken).ConfigureAwait(false);
        return await ApplyInTurnAsync(runId, runEvent, dedupe, cancellationToken, dueKey, precondition).ConfigureAwait(false);
    }

    /// <summary>
    /// Applies a runner's report (<c>pipeline.step.result</c>, deduplicated by its event id). Reports of one run that
    /// wait while another of its reports is being applied are applied together, in one transaction: the reports of a
    /// layer's parallel steps arrive within a millisecond, and applied one by one the last (the one that makes the next
    /// layer ready) waited for a read and a commit per report before it. When the group's commit meets a conflict (a
    /// duplicate report, another instance's write) each report is applied on its own, as <see cref="ApplyAsync"/> does.
    /// </summary>
    public async Task ApplyReportAsync(string runId, RunEvent runEvent, (string Subscription, string EventId) dedupe, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(runEvent);
        var report = new PendingReport(runEvent, dedupe);
        lock (_pendingReports)
        {
            if (!_pendingReports.TryGetValue(runId, out var waiting))
            {
                _pendingReports[runId] = waiting = [];
            }

            waiting.Add(report);
        }

        IDisposable turn;
        try
        {
            turn = await _runTurns.EnterAsync(runId, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            // Given up waiting (stopping): not applied here; the event is delivered again.
            lock (_pendingReports)
            {
                if (_pendingReports.TryGetValue(runId, out var waiting) && waiting.Remove(report) && waiting.Count == 0)
                {
                    _pendingReports.Remove(runId);
                }
            }

            throw;
        }

        using (turn)
        {
            List<PendingReport> group;
            lock (_pendingReports)
            {
                if (report.Applied.Task.IsCompleted)
                {
                    // Applied by the turn before this one, together with its own report.
                    group = [];
                }
                else
                {
                    group = _pendingReports.Remove(runId, out var waiting) ? waiting : [report];
                }
            }

            if (group.Count > 0)
            {
                try
                {
                    await ApplyReportsInTurnAsync(runId, group, cancellationToken).ConfigureAwait(false);
                    group.ForEach(r => r.Applied.TrySetResult());
                }
                catch (Exception ex)
                {
                    group.ForEach(r => r.Applied.TrySetException(ex));
                }
            }
        }

        await report.Applied.Task.ConfigureAwait(false);
    }

    /// <summary>Reports waiting for their run's turn (tests).</summary>
    internal int PendingReports(string runId)
    {
        lock (_pendingReports)
        {
            return _pendingReports.TryGetValue(runId, out var waiting) ? waiting.Count : 0;
        }
    }

    private async Task ApplyReportsInTurnAsync(string runId, List<PendingReport> group, CancellationToken cancellationToken)
    {
        if (group.Count > 1 && await TryApplyTogetherAsync(runId, group, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        foreach (var report in group)
        {
            await ApplyInTurnAsync(runId, report.Event, report.Dedupe, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// One read, the reports applied in arrival order, one commit. False, with nothing written, when the group cannot go
    /// together: the run is gone or finished (a report that brings a run back needs its lane), or the commit conflicted.
    /// </summary>
    private async Task<bool> TryApplyTogetherAsync(string runId, List<PendingReport> group, CancellationToken cancellationToken)
    {
        var loaded = await LoadAsync(runId, cancellationToken).ConfigureAwait(false);
        if (loaded is null || loaded.Value.State.Status.IsTerminal())
        {
            return false;
        }

        var record = loaded.Value;
        var transaction = new StateTransaction();
        var applied = new List<RunTransition>(group.Count);
        var machine = RunStateMachine.For(record.Definition);
        foreach (var report in group)
        {
            var transition = machine.Apply(record.State, report.Event);
            transaction.MarkProcessed(report.Dedupe.Subscription, report.Dedupe.EventId);
            if (!transition.Ignored)
            {
                record = Carry(record, transition, transaction, report.Event);
                applied.Add(transition);
            }
        }

        var recordWrite = applied.Count > 0 ? StageRecord(transaction, record, new StateWriteOptions(ETag: loaded.ETag), loaded.Value, group.Select(r => r.Event)) : -1;

        var startedNext = applied.Count > 0 && record.State.Status.IsTerminal() && record.ConcurrencyGroup is { } lane
            ? await LeaveLaneAsync(lane, runId, transaction, cancellationToken).ConfigureAwait(false)
            : null;
        IReadOnlyList<string> etags;
        try
        {
            etags = await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
        }
        catch (ETagMismatchException)
        {
            return false;
        }

        if (recordWrite >= 0)
        {
            _decoded.Remember(runId, record, etags[recordWrite]);
        }

        applied.ForEach(transition => AfterCommit(record, transition));
        if (startedNext is { } next)
        {
            AfterCommit(next.Record, next.Transition);
        }

        return true;
    }

    private async Task<RunTransition?> ApplyInTurnAsync(string runId, RunEvent runEvent, (string Subscription, string EventId)? dedupe, CancellationToken cancellationToken, string? dueKey = null, Func<StateTransaction, CancellationToken, Task<bool>>? precondition = null)
    {
        for (var conflict = 0; ; conflict++)
        {
            var loaded = await LoadAsync(runId, cancellationToken).ConfigureAwait(false);
            if (loaded is null)
            {
                return null;
            }

            var record = loaded.Value;
            var transaction = new StateTransaction();
            if (dueKey is not null)
            {
                var due = await state.GetAsync(dueKey, cancellationToken).ConfigureAwait(false);
                if (due is null)
                {
                    return null;
                }

                transaction.Delete(dueKey, due.ETag);
            }

            if (precondition is not null && !await precondition(transaction, cancellationToken).ConfigureAwait(false))
            {
                await TryCommitAsync(transaction, cancellationToken).ConfigureAwait(false);
                return null;
            }

            if (runEvent is TimerFired fired)
            {
                record = record with { Timers = record.Timers.Remove(fired.TimerId) };
            }

            var transition = RunStateMachine.For(record.Definition).Apply(record.State, runEvent);
            if (dedupe is { } marker)
            {
                transaction.MarkProcessed(marker.Subscription, marker.EventId);
            }

            if (transition.Ignored && dueKey is null)
            {
                // Nothing changed: only remember the event, so a redelivery is not looked at again.
                if (dedupe is not null)
                {
                    await TryCommitAsync(transaction, cancellationToken).ConfigureAwait(false);
                }

                return transition;
            }

            // A finished run brought back (retry, rerun) runs again inside its concurrency group: it takes the lane when the
            // group is idle, and is refused while another run of the group is in progress or waiting.
            if (!transition.Ignored && record.State.Status.IsTerminal() && !transition.State.Status.IsTerminal() && record.ConcurrencyGroup is { } reentered
                && await EnterLaneAgainAsync(reentered, runId, transaction, time.GetUtcNow(), cancellationToken).ConfigureAwait(false) is { } busy)
            {
                return transition with { IgnoredBecause = busy };
            }

            var updated = Carry(record, transition, transaction, runEvent);
            var recordWrite = StageRecord(transaction, updated, new StateWriteOptions(ETag: loaded.ETag), record, [runEvent]);
            var startedNext = updated.State.Status.IsTerminal() && !record.State.Status.IsTerminal() && updated.ConcurrencyGroup is { } group
                ? await LeaveLaneAsync(group, runId, transaction, cancellationToken).ConfigureAwait(false)
                : null;
            IReadOnlyList<string> etags;
            try
            {
                etags = await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            }
            catch (ETagMismatchException ex) when (IsMarker(ex.Key))
            {
                return null;
            }
            catch (ETagMismatchException ex) when (dueKey is not null && ex.Key == dueKey)
            {
                return null;
            }
            catch (ETagMismatchException) when (conflict < MaxConflicts)
            {
                continue;
            }

            _decoded.Remember(runId, updated, etags[recordWrite]);
            AfterCommit(updated, transition);
            if (startedNext is { } next)
            {
                AfterCommit(next.Record, next.Transition);
            }

            return transition;
        }
    }

    /// <summary>A delayed dispatch (retry backoff) came due: publish it and consume the timer in one transaction.</summary>
    public async Task FireDispatchAsync(string runId, string timerId, string dueKey, CancellationToken cancellationToken)
    {
        for (var conflict = 0; ; conflict++)
        {
            var loaded = await LoadAsync(runId, cancellationToken).ConfigureAwait(false);
            var due = await state.GetAsync(dueKey, cancellationToken).ConfigureAwait(false);
            if (due is null)
            {
                return;
            }

            var transaction = new StateTransaction().Delete(dueKey, due.ETag);
            if (loaded is not null && TryParseStepTimer(timerId, out var stepId, out var attempt))
            {
                var record = loaded.Value with { Timers = loaded.Value.Timers.Remove(timerId) };
                transaction.Upsert(RunPrefix + runId, Encode(record), new StateWriteOptions(ETag: loaded.ETag));
                transaction.Publish(PipelineTopics.StepDispatch, CloudEventJson.Create(Source, PipelineTopics.StepDispatch, new StepDispatchData(runId, record.Pipeline, stepId, attempt), runId));
            }

            try
            {
                await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (ETagMismatchException ex) when (ex.Key != dueKey && conflict < MaxConflicts)
            {
            }
            catch (ETagMismatchException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Whether a runner already recorded the end of this dispatched attempt. A dispatch redelivered after its runner
    /// finished (but before the orchestrator applied the result, or before the dispatch was acknowledged) must not
    /// run the step again.
    /// </summary>
    public async Task<bool> IsReportedAsync(string runId, string stepId, int attempt, CancellationToken cancellationToken) =>
        await state.GetAsync(ReportedKey(runId, stepId, attempt), cancellationToken).ConfigureAwait(false) is not null;

    /// <summary>
    /// A runner's final report: the note that the attempt ended and the <c>pipeline.step.result</c> event commit
    /// together (outbox), once; with the runner's <paramref name="lease"/> the lease ends in the same transaction.
    /// False when it had been recorded already (another runner got there first) or the lease was lost (the
    /// orchestrator declared the attempt lost and dispatched another).
    /// </summary>
    public async Task<bool> RecordResultAsync(StepResultData result, CancellationToken cancellationToken, HeldLease? lease = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var transaction = new StateTransaction()
            .Upsert(ReportedKey(result.RunId, result.StepId, result.Attempt), Serialize(result), new StateWriteOptions(OnlyIfAbsent: true))
            .Publish(PipelineTopics.StepResult, CloudEventJson.Create(Source, PipelineTopics.StepResult, result, $"{result.RunId}/{result.StepId}"));
        if (lease is not null)
        {
            transaction
                .Upsert(LeaseKey(lease.Lease), Serialize(lease.Lease with { Ended = true }), new StateWriteOptions(ETag: lease.ETag))
                .Delete(LeaseDueKey(lease.Lease));
        }

        try
        {
            await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ETagMismatchException)
        {
            return false;
        }
    }

    /// <summary>
    /// Claims a dispatched attempt for <paramref name="runner"/> until now + <paramref name="duration"/>, and reports
    /// the start (<paramref name="started"/>, through the outbox) in the same transaction. Null when the attempt was
    /// claimed before, by whichever runner: an attempt runs at most once, and one whose runner died is recovered
    /// by its lease expiring (<see cref="ExpireLeaseAsync"/>), never by a second claim.
    /// </summary>
    public async Task<HeldLease?> AcquireLeaseAsync(StepResultData started, string runner, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(started);
        var lease = new StepLease(started.RunId, started.StepId, started.Attempt, runner, time.GetUtcNow() + duration);
        var transaction = new StateTransaction()
            .Upsert(LeaseKey(lease), Serialize(lease), new StateWriteOptions(OnlyIfAbsent: true))
            .Upsert(LeaseDueKey(lease), ReadOnlyMemory<byte>.Empty)
            .Publish(PipelineTopics.StepResult, CloudEventJson.Create(Source, PipelineTopics.StepResult, started, $"{started.RunId}/{started.StepId}"));
        try
        {
            var etags = await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            return new HeldLease(lease, etags[0]);
        }
        catch (ETagMismatchException)
        {
            return null;
        }
    }

    /// <summary>
    /// Extends a held lease to now + <paramref name="duration"/> (its due entry moves along). Null when the lease was
    /// lost: the orchestrator declared the attempt lost, so the runner must stop it and report nothing.
    /// With a zero duration the lease expires at once (a runner giving an attempt up on shutdown).
    /// </summary>
    public async Task<HeldLease?> RenewLeaseAsync(HeldLease held, TimeSpan duration, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(held);
        var lease = held.Lease with { Until = time.GetUtcNow() + duration, HandedOver = duration <= TimeSpan.Zero };
        var transaction = new StateTransaction()
            .Upsert(LeaseKey(lease), Serialize(lease), new StateWriteOptions(ETag: held.ETag))
            .Delete(LeaseDueKey(held.Lease))
            .Upsert(LeaseDueKey(lease), ReadOnlyMemory<byte>.Empty);
        try
        {
            var etags = await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
            if (duration <= TimeSpan.Zero)
            {
                timerSignal.Notify();
            }

            return new HeldLease(lease, etags[0]);
        }
        catch (ETagMismatchException)
        {
            return null;
        }
    }

    /// <summary>The lease of an attempt, if a runner ever claimed it.</summary>
    public async Task<StepLease?> GetLeaseAsync(string runId, string stepId, int attempt, CancellationToken cancellationToken)
    {
        var item = await state.GetAsync(LeaseKey(runId, stepId, attempt), cancellationToken).ConfigureAwait(false);
        return item is null ? null : JsonSerializer.Deserialize<StepLease>(item.Value.Span, PipelineJson.Options);
    }

    /// <summary>
    /// A lease's due entry came due. If the lease really lapsed (not renewed, not ended) the attempt is recorded as
    /// Lost and a new attempt dispatched (<see cref="StepLost"/>), the lease marked ended and the entry consumed, all
    /// in one transaction with the lease's ETag: a runner renewing at the same moment either wins (nothing is lost)
    /// or finds its lease gone and stops. A final report already committed ended the lease, so a finished step is
    /// never run again.
    /// </summary>
    public async Task<RunTransition?> ExpireLeaseAsync(string runId, string timerId, string dueKey, CancellationToken cancellationToken)
    {
        if (!TryParseStepTimer(timerId, out var stepId, out var attempt))
        {
            await state.DeleteAsync(dueKey, null, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (await LoadAsync(runId, cancellationToken).ConfigureAwait(false) is null)
        {
            // The run is gone: nothing to recover, and the entry must not stay due forever.
            await state.DeleteAsync(dueKey, null, cancellationToken).ConfigureAwait(false);
            return null;
        }

        // A lease its runner gave up on a graceful stop is a hand-over, told apart from a crash (checked again below).
        var handedOver = (await GetLeaseAsync(runId, stepId, attempt, cancellationToken).ConfigureAwait(false))?.HandedOver == true;
        return await ApplyAsync(runId, new StepLost(stepId, attempt, time.GetUtcNow()) { HandedOver = handedOver }, null, cancellationToken, dueKey, async (transaction, ct) =>
        {
            var item = await state.GetAsync(LeaseKey(runId, stepId, attempt), ct).ConfigureAwait(false);
            var lease = item is null ? null : JsonSerializer.Deserialize<StepLease>(item.Value.Span, PipelineJson.Options);
            if (lease is null || lease.Ended || lease.Until > time.GetUtcNow() || lease.HandedOver != handedOver)
            {
                // Ended, or renewed since this entry was written: the entry is stale.
                return false;
            }

            transaction.Upsert(LeaseKey(lease), Serialize(lease with { Ended = true }), new StateWriteOptions(ETag: item!.ETag));
            return true;
        }).ConfigureAwait(false);
    }

    /// <summary>A pipeline's runs, newest first; with <paramref name="status"/> only those in that status.</summary>
    public async Task<(IReadOnlyList<RunSummary> Items, string? NextCursor)> ListAsync(string pipeline, RunStatus? status, int limit, string? cursor, CancellationToken cancellationToken)
    {
        limit = Math.Clamp(limit, 1, StateKeys.MaxPageSize);
        var items = new List<RunSummary>();
        do
        {
            var page = await state.GetJsonPageAsync<RunSummary>(IndexPrefix + pipeline + StateKeys.Separator, limit - items.Count, cursor, cancellationToken: cancellationToken).ConfigureAwait(false);
            items.AddRange(page.Items.Where(r => status is null || r.Status == status));
            cursor = page.NextCursor;
        }
        while (items.Count < limit && cursor is not null);
        return (items, cursor);
    }

    /// <summary>Timer entries due by now, oldest first.</summary>
    public async Task<IReadOnlyList<string>> DueKeysAsync(int max, CancellationToken cancellationToken)
    {
        var page = await state.ListKeysAsync(DuePrefix, max, null, cancellationToken).ConfigureAwait(false);
        var limit = DuePrefix + time.GetUtcNow().UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + "~";
        return page.Keys.TakeWhile(k => string.CompareOrdinal(k, limit) <= 0).ToList();
    }

    public static (string RunId, string TimerId) ParseDueKey(string dueKey)
    {
        ArgumentNullException.ThrowIfNull(dueKey);
        var parts = dueKey[DuePrefix.Length..].Split(StateKeys.Separator);
        return (parts[1], parts[2]);
    }

    public static bool IsDispatchTimer(string timerId) => timerId.StartsWith(DispatchTimerPurpose + ":", StringComparison.Ordinal);

    public static bool IsLeaseTimer(string timerId) => timerId.StartsWith(LeaseTimerPurpose + ":", StringComparison.Ordinal);

    /// <summary>The state change plus its commands as writes and outbox events in <paramref name="transaction"/>.</summary>
    private static RunRecord Carry(RunRecord record, RunTransition transition, StateTransaction transaction, RunEvent? cause)
    {
        var timers = record.Timers;
        var runId = record.RunId;
        foreach (var command in transition.Commands)
        {
            switch (command)
            {
                case DispatchStep { Delay.Ticks: <= 0 } dispatch:
                    transaction.Publish(PipelineTopics.StepDispatch, CloudEventJson.Create(Source, PipelineTopics.StepDispatch, new StepDispatchData(runId, record.Pipeline, dispatch.StepId, dispatch.Attempt), runId));
                    break;
                case DispatchStep dispatch:
                    var dispatchTimer = string.Create(CultureInfo.InvariantCulture, $"{DispatchTimerPurpose}:{dispatch.StepId}:{dispatch.Attempt}");
                    var dispatchAt = transition.State.Steps[dispatch.StepId].CurrentAttempt!.QueuedAt + dispatch.Delay;
                    timers = timers.SetItem(dispatchTimer, dispatchAt);
                    transaction.Upsert(DueKey(dispatchAt, runId, dispatchTimer), ReadOnlyMemory<byte>.Empty);
                    break;
                case StartTimer start:
                    timers = timers.SetItem(start.TimerId, start.DueAt);
                    transaction.Upsert(DueKey(start.DueAt, runId, start.TimerId), ReadOnlyMemory<byte>.Empty);
                    break;
                case CancelTimer cancel when timers.TryGetValue(cancel.TimerId, out var dueAt):
                    timers = timers.Remove(cancel.TimerId);
                    transaction.Delete(DueKey(dueAt, runId, cancel.TimerId));
                    break;
                case PublishEvent publish:
                    transaction.Publish(PipelineTopics.For(publish.Type), RunEvent(record, transition.State, publish.Type, publish.StepId, publish.Detail));
                    break;

                // CancelStep needs no message: a runner watches its attempt in the run state and stops once it is
                // finished or the run is cancelling, whichever process it runs in.
            }
        }

        if (cause is StepStarted started && !transition.Ignored)
        {
            transaction.Publish(PipelineTopics.StepStarted, RunEvent(record, transition.State, RunEventTypes.StepStarted, started.StepId, null));
        }

        return record with { State = transition.State, Timers = timers };
    }

    private static Azure.Messaging.CloudEvent RunEvent(RunRecord record, RunState state, string type, string? stepId, string? detail)
    {
        var step = stepId is null ? null : state.Steps.GetValueOrDefault(stepId)?.Status.ToString();
        return CloudEventJson.Create(Source, type, new RunEventData(record.RunId, record.Pipeline, stepId, state.Status.ToString(), step, detail), stepId is null ? record.RunId : $"{record.RunId}/{stepId}");
    }

    private void AfterCommit(RunRecord record, RunTransition? transition)
    {
        if (transition is not null && transition.Commands.Any(c => c is StartTimer or DispatchStep { Delay.Ticks: > 0 }))
        {
            timerSignal.Notify();
        }
    }

    /// <summary>
    /// Puts a finished run back in its group's lane as the running one, in <paramref name="transaction"/> (with the lane's
    /// ETag). Returns why it cannot when another run of the group holds or waits for the lane; null when it is in.
    /// </summary>
    private async Task<string?> EnterLaneAgainAsync(string group, string runId, StateTransaction transaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var laneKey = LaneStateKey(group);
        var lane = await state.GetJsonAsync<ConcurrencyLane>(laneKey, cancellationToken).ConfigureAwait(false);
        var others = lane?.Value.Runs.Where(r => r.RunId != runId).ToList() ?? [];
        if (others.Count > 0)
        {
            return $"concurrency group '{group}' has run {others[0].RunId} {(others[0].IsRunning ? "in progress" : "waiting")}; retry when the group is free (or cancel it)";
        }

        transaction.UpsertJson(
            laneKey,
            new ConcurrencyLane(group, [new GroupRun(runId, true, now)]),
            lane is null ? new StateWriteOptions(OnlyIfAbsent: true) : new StateWriteOptions(ETag: lane.ETag));
        return null;
    }

    /// <summary>
    /// A finished run leaves its lane and the newest pending run of the group starts, both written into the finishing
    /// run's own <paramref name="transaction"/> (the lane and the next run with their ETags): a crash can never leave a
    /// finished run holding the lane or a lane that says a run started which never did. A conflict on either key fails
    /// the whole transaction and the caller's loop applies the event again on fresh state.
    /// </summary>
    private async Task<(RunRecord Record, RunTransition Transition)?> LeaveLaneAsync(string group, string runId, StateTransaction transaction, CancellationToken cancellationToken)
    {
        var laneKey = LaneStateKey(group);
        var lane = await state.GetJsonAsync<ConcurrencyLane>(laneKey, cancellationToken).ConfigureAwait(false);
        if (lane is null || lane.Value.Runs.All(r => r.RunId != runId))
        {
            // A superseded pending run left the lane when it was cancelled.
            return null;
        }

        var runs = lane.Value.Runs.Where(r => r.RunId != runId).ToList();
        (RunRecord Record, RunTransition Transition)? started = null;
        while (started is null && ConcurrencyGroups.NextToStart(runs) is { } next)
        {
            var loaded = await LoadAsync(next, cancellationToken).ConfigureAwait(false);
            var transition = loaded is null ? null : RunStateMachine.For(loaded.Value.Definition).Apply(loaded.Value.State, new RunStarted(time.GetUtcNow()));
            if (loaded is null || transition is null || transition.Ignored)
            {
                // Gone, or already finished (cancelled while it waited): it leaves the lane too.
                runs = runs.Where(r => r.RunId != next).ToList();
                continue;
            }

            var record = Carry(loaded.Value, transition, transaction, null);
            StageRecord(transaction, record, new StateWriteOptions(ETag: loaded.ETag), loaded.Value, []);
            runs = runs.Select(r => r.RunId == next ? r with { IsRunning = true } : r).ToList();
            started = (record, transition);
        }

        transaction.Upsert(laneKey, JsonSerializer.SerializeToUtf8Bytes(new ConcurrencyLane(group, runs), StateStoreJsonExtensions.JsonOptions), new StateWriteOptions(ETag: lane.ETag));
        return started;
    }

    private async Task TryCommitAsync(StateTransaction transaction, CancellationToken cancellationToken)
    {
        try
        {
            await state.TransactAsync(transaction, cancellationToken).ConfigureAwait(false);
        }
        catch (ETagMismatchException)
        {
            // Already marked: a duplicate of a duplicate.
        }
    }

    private async Task<Versioned<RunRecord>?> LoadAsync(string runId, CancellationToken cancellationToken)
    {
        // The record's JSON (10 KB for 20 steps) is read only when it is not the version this process decoded last.
        var item = await state.GetIfChangedAsync(RunPrefix + runId, _decoded.ETagOf(runId), cancellationToken).ConfigureAwait(false);
        if (item is null)
        {
            _decoded.Forget(runId);
            return null;
        }

        return await ResolveAsync(runId, item, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A run record from a conditional read (<paramref name="item"/>, the run's key): the version this process holds,
    /// or the one read. Null when the run is gone by the time a left-out value is read whole.
    /// </summary>
    private async Task<Versioned<RunRecord>?> ResolveAsync(string runId, StateItem item, CancellationToken cancellationToken)
    {
        if (_decoded.Find(runId, item.ETag) is { } known)
        {
            return new Versioned<RunRecord>(known, item.ETag);
        }

        if (item.Value.IsEmpty)
        {
            // Left out for a version another thread has since replaced in the cache with a newer one: read it whole.
            if (await state.GetAsync(RunPrefix + runId, cancellationToken).ConfigureAwait(false) is not { } whole)
            {
                _decoded.Forget(runId);
                return null;
            }

            item = whole;
        }

        return new Versioned<RunRecord>(Decode(runId, item), item.ETag);
    }

    /// <summary>Decodes a run record read whole and keeps it as the version this process holds.</summary>
    private RunRecord Decode(string runId, StateItem item)
    {
        var record = CompactJson.Deserialize<RunRecord>(item.Value.Span, PipelineJson.Options)!;
        _decoded.Remember(runId, record, item.ETag);
        return record;
    }

    /// <summary>A timer id of the form <c>{purpose}:{step}:{attempt}</c> (dispatch and lease timers).</summary>
    private static bool TryParseStepTimer(string timerId, out string stepId, out int attempt)
    {
        var parts = timerId.Split(':');
        stepId = parts.Length == 3 ? parts[1] : string.Empty;
        attempt = 0;
        return parts.Length == 3 && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out attempt);
    }

    private static bool IsMarker(string key) => key.StartsWith("pubsub||processed||", StringComparison.Ordinal);

    /// <summary>The state key of a concurrency group's lane.</summary>
    private static string LaneStateKey(string group) => GroupPrefix + ConcurrencyGroups.LaneKey(group);

    private static string IndexKey(RunRecord record) =>
        IndexPrefix + record.Pipeline + StateKeys.Separator + (long.MaxValue - record.State.CreatedAt.UtcTicks).ToString("D19", CultureInfo.InvariantCulture) + StateKeys.Separator + record.RunId;

    private static string ReportedKey(string runId, string stepId, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"{ReportedPrefix}{runId}{StateKeys.Separator}{stepId}{StateKeys.Separator}{attempt}");

    private static string LeaseKey(StepLease lease) => LeaseKey(lease.RunId, lease.StepId, lease.Attempt);

    private static string LeaseKey(string runId, string stepId, int attempt) =>
        string.Create(CultureInfo.InvariantCulture, $"{LeasePrefix}{runId}{StateKeys.Separator}{stepId}{StateKeys.Separator}{attempt}");

    private static string LeaseDueKey(StepLease lease) =>
        DueKey(lease.Until, lease.RunId, string.Create(CultureInfo.InvariantCulture, $"{LeaseTimerPurpose}:{lease.StepId}:{lease.Attempt}"));

    private static string DueKey(DateTimeOffset at, string runId, string timerId) =>
        DuePrefix + at.UtcTicks.ToString("D19", CultureInfo.InvariantCulture) + StateKeys.Separator + runId + StateKeys.Separator + timerId;

    private static byte[] Serialize<T>(T value) => JsonSerializer.SerializeToUtf8Bytes(value, PipelineJson.Options);

    /// <summary>A run record as stored: its JSON, Brotli-compressed (<see cref="CompactJson"/>; <see cref="Decode"/> reads it, and plain JSON).</summary>
    private static byte[] Encode(RunRecord record) => CompactJson.Serialize(record, PipelineJson.Options);

    /// <summary>
    /// Adds a run's record and its index entry to <paramref name="transaction"/>, and a new stop note when the change from
    /// <paramref name="before"/> by <paramref name="events"/> is one the run's running steps must notice; returns the
    /// record write's position (its ETag's index).
    /// </summary>
    private static int StageRecord(StateTransaction transaction, RunRecord record, StateWriteOptions options, RunRecord? before = null, IEnumerable<RunEvent>? events = null)
    {
        var position = transaction.Operations.Count;
        transaction.Upsert(RunPrefix + record.RunId, Encode(record), options);
        transaction.Upsert(IndexKey(record), Serialize(record.Summary()));
        if (before is not null && RunningAttempts.MustNotice(before.State, record.State, events ?? []))
        {
            transaction.Upsert(StopPrefix + record.RunId, "{}"u8.ToArray(), new StateWriteOptions(Ttl: StopNoteLifetime));
        }

        return position;
    }

    private sealed class PendingReport(RunEvent runEvent, (string Subscription, string EventId) dedupe)
    {
        public RunEvent Event { get; } = runEvent;

        public (string Subscription, string EventId) Dedupe { get; } = dedupe;

        public TaskCompletionSource Applied { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
