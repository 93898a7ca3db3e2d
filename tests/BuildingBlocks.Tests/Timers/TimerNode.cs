using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serverless.BuildingBlocks.Timers;

namespace BuildingBlocks.Tests.Timers;

/// <summary>One test host: the equivalent of one process.</summary>
public sealed class TimerNode(string name, IHost host) : IAsyncDisposable
{
    private bool _disposed;

    public string Name { get; } = name;

    public IHost Host { get; } = host;

    public ITimerEngine Engine => Host.Services.GetRequiredService<ITimerEngine>();

    /// <summary>Stops the host (waiting for running functions) and releases what it holds.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            await Host.StopAsync(CancellationToken.None);
        }
        finally
        {
            await ((IAsyncDisposable)Host).DisposeAsync();
        }
    }
}
