using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Integration.Tests;

/// <summary>
/// A TCP relay on loopback in front of a real server, to take the server away from a host and give it back: while
/// cut, every open connection is reset and new ones are reset as soon as they are accepted (as when the server
/// restarts); stalled, connections stay open but no byte passes either way (as when the server hangs); restored,
/// connections pass through again.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly string _host;
    private readonly int _port;
    private readonly ConcurrentDictionary<Guid, (TcpClient Client, TcpClient Upstream)> _open = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile bool _cut;

    /// <summary>Completed while bytes may pass; replaced by a pending one while stalled.</summary>
    private volatile TaskCompletionSource _flowing = Flowing();

    public TcpRelay(string host, int port)
    {
        _host = host;
        _port = port;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Resets every open connection and every new one until <see cref="Restore"/>.</summary>
    public void Cut()
    {
        _cut = true;
        foreach (var id in _open.Keys)
        {
            if (_open.TryRemove(id, out var pair))
            {
                Reset(pair.Client);
                Reset(pair.Upstream);
            }
        }
    }

    /// <summary>Holds every byte in both directions, on open connections and new ones, until <see cref="Restore"/>.</summary>
    public void Stall()
    {
        if (_flowing.Task.IsCompleted)
        {
            _flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Restore()
    {
        _cut = false;
        _flowing.TrySetResult();
    }

    private static TaskCompletionSource Flowing()
    {
        var flowing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        flowing.SetResult();
        return flowing;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
        await _accepting.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            if (_cut)
            {
                Reset(client);
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        var id = Guid.NewGuid();
        try
        {
            await upstream.ConnectAsync(_host, _port, _stop.Token);
            _open[id] = (client, upstream);
            var a = client.GetStream();
            var b = upstream.GetStream();
            await Task.WhenAny(PumpAsync(a, b), PumpAsync(b, a));
        }
        catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The connection ended (or was cut): nothing to relay any more.
        }
        finally
        {
            _open.TryRemove(id, out _);
            Reset(client);
            Reset(upstream);
        }
    }

    /// <summary>Copies <paramref name="from"/> to <paramref name="to"/>, holding each chunk while the relay is stalled.</summary>
    private async Task PumpAsync(NetworkStream from, NetworkStream to)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            await _flowing.Task.WaitAsync(_stop.Token);
            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }

    /// <summary>Closes with a reset (linger 0); safe to call on a connection the other side of the relay already closed.</summary>
    private static void Reset(TcpClient client)
    {
        // A disposed TcpClient has no socket any more (its LingerState setter would throw a NullReferenceException).
        if (client.Client is { } socket)
        {
            try
            {
                socket.LingerState = new LingerOption(true, 0);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                // Already gone.
            }
        }

        client.Dispose();
    }
}
