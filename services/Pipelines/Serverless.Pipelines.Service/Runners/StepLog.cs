using System.Text;
using Serverless.Pipelines.Service.Runs;

namespace Serverless.Pipelines.Service.Runners;

/// <summary>
/// Collects an attempt's output and writes it to <see cref="StepLogStore"/> in chunks as it arrives (so it can be
/// followed), keeping at most <paramref name="limitBytes"/>; beyond that one truncation note is written.
/// </summary>
public sealed class StepLog(StepLogStore store, string runId, string stepId, int attempt, long limitBytes) : IAsyncDisposable
{
    private const int ChunkChars = 8 * 1024;
    private readonly Lock _gate = new();
    private readonly StringBuilder _pending = new();
    private readonly SemaphoreSlim _flush = new(1, 1);
    private long _written;
    private bool _truncated;
    private int _sequence;

    public void Write(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_gate)
        {
            if (_truncated)
            {
                return;
            }

            var room = limitBytes - _written;
            var bytes = Encoding.UTF8.GetByteCount(text);
            if (bytes > room)
            {
                // Cut on bytes, at a character boundary: multi-byte output must not take the log past its cap.
                _pending.Append(Serverless.Pipelines.Runs.Utf8Text.Prefix(text, room));
                _pending.Append(System.Globalization.CultureInfo.InvariantCulture, $"\n[log truncated at {limitBytes} bytes]\n");
                _truncated = true;
                _written = limitBytes;
                return;
            }

            _written += bytes;
            _pending.Append(text);
        }
    }

    public void WriteLine(string text) => Write(text + "\n");

    /// <summary>Writes what has accumulated; called periodically while the step runs and once at the end.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _flush.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            while (true)
            {
                string chunk;
                lock (_gate)
                {
                    if (_pending.Length == 0)
                    {
                        return;
                    }

                    // A chunk is stored as UTF-8 on its own: it must not end between the halves of a surrogate pair.
                    var length = Serverless.Pipelines.Runs.Utf8Text.SafeLength(_pending, Math.Min(_pending.Length, ChunkChars));
                    chunk = _pending.ToString(0, length);
                }

                // Taken off only once stored: a write that fails (the store unreachable, the flush cancelled) leaves the
                // chunk for the next flush, under the same sequence number, so a write that committed unseen is overwritten,
                // not doubled.
                await store.AppendAsync(runId, stepId, attempt, _sequence, chunk, cancellationToken).ConfigureAwait(false);
                lock (_gate)
                {
                    _pending.Remove(0, chunk.Length);
                }

                _sequence++;
            }
        }
        finally
        {
            _flush.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await FlushAsync(CancellationToken.None).ConfigureAwait(false);
        _flush.Dispose();
    }
}
