using System.Collections.Concurrent;
using System.Diagnostics;
using Azure.Messaging;
using Serverless.BuildingBlocks.PubSub;
using Serverless.BuildingBlocks.State;
using Serverless.BuildingBlocks.Timers;

namespace Integration.Tests;

/// <summary>What test handlers and timers saw, shared by the hosts of one test.</summary>
public sealed class Recording
{
    public ConcurrentQueue<(string EventId, string TraceId, string Host)> Events { get; } = new();

    public ConcurrentQueue<(DateTimeOffset Scheduled, bool PastDue, string Host)> Firings { get; } = new();

    public static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:F0}s waiting for {what}.");
            }

            await Task.Delay(20);
        }
    }
}

/// <summary>Records each event it handles, with the trace it ran in and the host it ran on, in memory and in state.</summary>
public sealed class RecordingHandler(Recording recording, HostName host, IStateStore state) : ISubscriptionHandler
{
    public async Task HandleAsync(CloudEvent cloudEvent, EventContext context, CancellationToken cancellationToken)
    {
        await state.SaveAsync($"seen||{cloudEvent.Id}||{host.Value}", "1"u8.ToArray(), cancellationToken: cancellationToken);
        recording.Events.Enqueue((cloudEvent.Id, Activity.Current?.TraceId.ToString() ?? string.Empty, host.Value));
    }
}

/// <summary>Records each firing of a timer.</summary>
public sealed class RecordingTimer(Recording recording, HostName host) : ITimerFunction
{
    public Task RunAsync(TimerInfo timer, CancellationToken cancellationToken)
    {
        recording.Firings.Enqueue((timer.ScheduledTime, timer.IsPastDue, host.Value));
        return Task.CompletedTask;
    }
}

public sealed record HostName(string Value);
