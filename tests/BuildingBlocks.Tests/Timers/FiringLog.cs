using System.Collections.Concurrent;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>One run of a timer function, as the function itself saw it.</summary>
public sealed record Firing(string Node, TimerInfo Info, DateTimeOffset StartedAt)
{
    public DateTimeOffset? EndedAt { get; set; }
}

/// <summary>Every firing on every node of a test, in the order the runs started.</summary>
public sealed class FiringLog
{
    private readonly ConcurrentQueue<Firing> _firings = new();

    public IReadOnlyList<Firing> All => [.. _firings];

    public IReadOnlyList<Firing> Of(string timer) => [.. _firings.Where(f => f.Info.Name == timer)];

    public Firing Start(string node, TimerInfo info)
    {
        var firing = new Firing(node, info, DateTimeOffset.UtcNow);
        _firings.Enqueue(firing);
        return firing;
    }

    /// <summary>Polls until <paramref name="condition"/> holds for <paramref name="timer"/>'s firings, failing after <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<Firing>> WaitForAsync(string timer, Func<IReadOnlyList<Firing>, bool> condition, TimeSpan timeout, string because)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var firings = Of(timer);
            if (condition(firings))
            {
                return firings;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                Assert.Fail($"Timed out after {timeout.TotalSeconds:0.#} s waiting for {because}. Firings of '{timer}':{Environment.NewLine}{Describe(firings)}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    public static string Describe(IEnumerable<Firing> firings) => string.Join(
        Environment.NewLine,
        firings.Select(f => $"  {f.Node}: scheduled {f.Info.ScheduledTime:HH:mm:ss.fff} started {f.StartedAt:HH:mm:ss.fff} ended {f.EndedAt:HH:mm:ss.fff} pastDue={f.Info.IsPastDue} last={f.Info.Last:HH:mm:ss.fff} next={f.Info.Next:HH:mm:ss.fff}"));
}

/// <summary>Which test node a function ran on.</summary>
public sealed record NodeName(string Value);
