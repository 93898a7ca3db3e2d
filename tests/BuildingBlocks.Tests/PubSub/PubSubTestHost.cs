using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Messaging;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.PubSub;

namespace BuildingBlocks.Tests.PubSub;

/// <summary>One call of a handler, as the handler saw it.</summary>
public sealed record HandlerCall(CloudEvent Event, EventContext Context, string Instance, ActivityTraceId TraceId, string? ActivityName, long Timestamp)
{
    public TimeSpan Since(HandlerCall earlier) => Stopwatch.GetElapsedTime(earlier.Timestamp, Timestamp);
}

/// <summary>Names the process-like instance a handler runs in (two instances = two DI containers, two buses).</summary>
public sealed record InstanceName(string Value);

/// <summary>Shared by every instance of one test: records handler calls and decides how each subscription behaves.</summary>
public sealed class EventProbe
{
    private readonly ConcurrentQueue<HandlerCall> _calls = new();
    private readonly ConcurrentQueue<HandlerCall> _handled = new();

    /// <summary>Runs inside the handler; throwing fails the attempt. Keyed by subscription name.</summary>
    public ConcurrentDictionary<string, Func<HandlerCall, CancellationToken, Task>> Behaviours { get; } = new(StringComparer.Ordinal);

    public IReadOnlyList<HandlerCall> CallsOf(string subscription) => _calls.Where(c => c.Context.Subscription == subscription).ToList();

    public IReadOnlyList<HandlerCall> HandledBy(string subscription) => _handled.Where(c => c.Context.Subscription == subscription).ToList();

    public Task<IReadOnlyList<HandlerCall>> WaitForHandledAsync(string subscription, int count, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => Task.FromResult(HandledBy(subscription)), h => h.Count >= count, $"{count} events handled by {subscription}", timeout);

    public Task<IReadOnlyList<HandlerCall>> WaitForCallsAsync(string subscription, int count, TimeSpan? timeout = null) =>
        Poll.UntilAsync(() => Task.FromResult(CallsOf(subscription)), h => h.Count >= count, $"{count} handler calls of {subscription}", timeout);

    internal async Task RecordAsync(HandlerCall call, CancellationToken cancellationToken)
    {
        _calls.Enqueue(call);
        if (Behaviours.TryGetValue(call.Context.Subscription, out var behaviour))
        {
            await behaviour(call, cancellationToken);
        }

        _handled.Enqueue(call);
    }
}

public sealed class RecordingHandler(EventProbe probe, InstanceName instance) : ISubscriptionHandler
{
    public Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        var activity = Activity.Current;
        var call = new HandlerCall(cloudEvent, context, instance.Value, activity?.TraceId ?? default, activity?.OperationName, Stopwatch.GetTimestamp());
        return probe.RecordAsync(call, cancellationToken);
    }
}

/// <summary>Polling with a deadline: the only waiting these tests do.</summary>
public static class Poll
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)((timeout ?? DefaultTimeout).TotalSeconds * Stopwatch.Frequency);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (Stopwatch.GetTimestamp() > deadline)
            {
                Assert.Fail($"Timed out after {(timeout ?? DefaultTimeout).TotalSeconds} s waiting for {what}.");
            }

            await Task.Delay(10);
        }
    }
}

/// <summary>One running host with pub/sub: its own DI container, bus and storage handles.</summary>
public sealed class PubSubInstance(string name, IHost host, Func<ValueTask> releaseStorage) : IAsyncDisposable
{
    private bool _disposed;

    public string Name { get; } = name;

    public IServiceProvider Services => host.Services;

    public IEventPublisher Publisher => Services.GetRequiredService<IEventPublisher>();

    public IDeadLetterQueue DeadLetters => Services.GetRequiredService<IDeadLetterQueue>();

    public Task StartAsync() => host.StartAsync(TestContext.Current.CancellationToken);

    /// <summary>A graceful stop: in-flight handlers finish first.</summary>
    public Task StopAsync() => host.StopAsync(CancellationToken.None);

    /// <summary>Disposes the host while handlers run, as a crash or a killed container would: nothing graceful.</summary>
    public async Task KillAsync()
    {
        await host.StopAsync(new CancellationToken(canceled: true));
        await DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        using (var patience = new CancellationTokenSource(TimeSpan.FromSeconds(5)))
        {
            await host.StopAsync(patience.Token);
        }

        if (host is IAsyncDisposable asyncHost)
        {
            await asyncHost.DisposeAsync();
        }
        else
        {
            host.Dispose();
        }

        await releaseStorage();
    }
}
