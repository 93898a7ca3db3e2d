using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// The step executions of this process. A dispatch handler waits here for one of <see cref="RunnerOptions.Slots"/>
/// slots before it claims an attempt, so a full runner keeps its deliveries unacknowledged (another runner process
/// may take the rest of the queue) instead of taking more work than it can start; the execution then runs in the
/// background, owned by this service, and the handler returns (the dispatch is acknowledged) at once.
/// </summary>
/// <remarks>
/// On shutdown (<see cref="StoppingAsync"/>) running steps are cancelled (their process trees killed) without a
/// report; once the transport has stopped taking deliveries (<see cref="StoppedAsync"/>) their leases are given up
/// (expired now), so the orchestrator dispatches them again at once rather than after the lease would have lapsed.
/// A delivery that arrives or waits for a slot while stopping is never acknowledged: it goes back to the queue
/// when the transport stops.
/// </remarks>
public sealed partial class RunnerSlots : IHostedLifecycleService, IDisposable
{
    private static readonly TimeSpan ReleaseTimeout = TimeSpan.FromSeconds(10);

    private readonly RunStore _runs;
    private readonly ILogger<RunnerSlots> _logger;
    private readonly SemaphoreSlim _free;
    private readonly CancellationTokenSource _abandon = new();
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentQueue<HeldLease> _abandoned = new();
    private readonly Lock _gate = new();
    private int _active;
    private bool _stopping;

    public RunnerSlots(RunnerOptions options, RunStore runs, ILogger<RunnerSlots> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        Capacity = options.Slots;
        _runs = runs;
        _logger = logger;
        _free = new SemaphoreSlim(Capacity, Capacity);
        var name = options.InstanceName ?? string.Create(CultureInfo.InvariantCulture, $"{Environment.MachineName}/{Environment.ProcessId}");
        InstanceId = $"{name}/{Guid.NewGuid():N}"[..^24];
    }

    /// <summary>This process's name in the leases it holds: <see cref="RunnerOptions.InstanceName"/> and a random suffix.</summary>
    public string InstanceId { get; }

    public int Capacity { get; }

    /// <summary>Slots taken: executions running, or handlers between taking a slot and starting one.</summary>
    public int InUse
    {
        get
        {
            lock (_gate)
            {
                return _active;
            }
        }
    }

    /// <summary>
    /// Waits for a free slot. While the runner stops it never returns a slot: it waits until the delivery's
    /// <paramref name="cancellationToken"/> is cancelled (the transport giving up on it), so the delivery is not
    /// acknowledged and goes back to the queue.
    /// </summary>
    public async Task<Slot> WaitAsync(CancellationToken cancellationToken)
    {
        if (!IsStopping)
        {
            await _free.WaitAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                if (!_stopping)
                {
                    _active++;
                    return new Slot(this);
                }
            }

            _free.Release();
        }

        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        throw new OperationCanceledException(cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="execution"/> in the background on <paramref name="slot"/>, freeing the slot when it ends.
    /// Its token is cancelled when the process stops; an execution that gives its attempt up then hands its lease to
    /// <see cref="Abandoned"/>.
    /// </summary>
    public void Start(Slot slot, Func<CancellationToken, Task> execution)
    {
        ArgumentNullException.ThrowIfNull(slot);
        ArgumentNullException.ThrowIfNull(execution);
        _ = Task.Run(async () =>
        {
            try
            {
                await execution(_abandon.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogExecutionFailed(_logger, ex);
            }
            finally
            {
                slot.Dispose();
            }
        });
    }

    /// <summary>An execution stopped by the shutdown: its lease is given up once the transport stopped.</summary>
    public void Abandoned(HeldLease lease) => _abandoned.Enqueue(lease);

    private bool IsStopping
    {
        get
        {
            lock (_gate)
            {
                return _stopping;
            }
        }
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Before any hosted service stops: cancel every running step and wait (as long as the host lets us) until they gave up.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _stopping = true;
            if (_active == 0)
            {
                _drained.TrySetResult();
            }
        }

        await _abandon.CancelAsync().ConfigureAwait(false);
        try
        {
            await _drained.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Out of patience: the leases of the steps still stopping lapse on their own.
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>After the transport stopped: give up the abandoned attempts' leases, so recovery does not wait for them to lapse.</summary>
    public async Task StoppedAsync(CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(ReleaseTimeout);
        while (_abandoned.TryDequeue(out var lease))
        {
            try
            {
                await _runs.RenewLeaseAsync(lease, TimeSpan.Zero, timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                LogReleaseFailed(_logger, ex, lease.Lease.RunId, lease.Lease.StepId, lease.Lease.Attempt);
            }
        }
    }

    public void Dispose()
    {
        _abandon.Dispose();
        _free.Dispose();
    }

    private void Free()
    {
        _free.Release();
        lock (_gate)
        {
            _active--;
            if (_stopping && _active == 0)
            {
                _drained.TrySetResult();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A pipeline step execution failed unexpectedly; its lease lapses and the orchestrator runs it again")]
    private static partial void LogExecutionFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Giving up the lease of run {RunId} step {StepId} attempt {Attempt} failed; it lapses on its own")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, string runId, string stepId, int attempt);

    /// <summary>One taken slot; disposing frees it (once).</summary>
    public sealed class Slot(RunnerSlots owner) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Free();
            }
        }
    }
}
