using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.Text.Json;

namespace Serverless.BuildingBlocks.State;

/// <summary>
/// JSON state values stored Brotli-compressed when they are large. A large value (a pipeline run record is about 9 KB
/// of JSON for 20 steps, rewritten twice per step) takes overflow pages in SQLite and a TOAST round in PostgreSQL, every
/// write and again in the checkpoint; compressed (about 1.1 KB: JSON of records repeats its property names) it shares a
/// page with others. Format: a tag byte <see cref="BrotliTag"/> (JSON text never starts with it), the JSON's length as
/// a 4-byte little-endian integer, then the Brotli stream. Values under <see cref="Threshold"/> bytes, and any that
/// would not shrink, stay plain JSON. <see cref="Deserialize{T}"/> reads both forms, so values written before stay
/// readable and a store's plain JSON values go through it unchanged.
/// </summary>
public static class CompactJson
{
    /// <summary>The first byte of a compressed value (a JSON text starts with whitespace, <c>{</c>, <c>[</c>, <c>"</c>, a digit, <c>-</c>, t, f or n).</summary>
    public const byte BrotliTag = 0x01;

    /// <summary>JSON shorter than this is stored as it is (small values gain little and stay readable in the store).</summary>
    public const int Threshold = 1024;

    /// <summary>The largest JSON a compressed value may claim to hold (a corrupt length must not allocate gigabytes).</summary>
    public const int MaxJsonBytes = 64 * 1024 * 1024;

    private const int HeaderBytes = 5;

    /// <summary>Quality 1 of 11: about 13 µs to compress 9 KB of run-record JSON 8× (measured 2026-12-02 on the 2-core machine); qualities 2–4 took 1.5–3× the time for 13–23 % less.</summary>
    private const int Quality = 1;

    /// <summary>A 64 KB window: state values are small, and the encoder's memory follows the window.</summary>
    private const int WindowBits = 16;

    /// <summary>A serialisation buffer per thread kept up to this size, so a large value's JSON is not a new array each time.</summary>
    private const int KeptBufferBytes = 256 * 1024;

    [ThreadStatic]
    private static Writer? t_writer;

    /// <summary>
    /// <paramref name="value"/> as plain JSON (exactly the bytes <see cref="JsonSerializer.SerializeToUtf8Bytes{TValue}(TValue, JsonSerializerOptions?)"/>
    /// gives) when it is small, otherwise compressed; the JSON is written into a buffer of this thread's, not a new array.
    /// </summary>
    public static byte[] Serialize<T>(T value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // Taken while in use, so a converter that serialises through here again gets a writer of its own.
        var writer = t_writer is { } kept && ReferenceEquals(kept.Options, options) ? kept : new Writer(options);
        t_writer = null;
        try
        {
            JsonSerializer.Serialize(writer.Json, value, options);
            var json = writer.Buffer.WrittenSpan;
            return json.Length < Threshold ? json.ToArray() : Compress(json) ?? json.ToArray();
        }
        finally
        {
            if (writer.Buffer.Capacity <= KeptBufferBytes)
            {
                writer.Buffer.ResetWrittenCount();
                writer.Json.Reset();
                t_writer = writer;
            }
        }
    }

    /// <summary><paramref name="json"/> compressed behind the header, or itself when compressing would not make it smaller.</summary>
    internal static byte[] Compress(byte[] json)
    {
        ArgumentNullException.ThrowIfNull(json);
        return Compress(json.AsSpan()) ?? json;
    }

    /// <summary><paramref name="json"/> compressed behind the header, or null when compressing would not make it smaller.</summary>
    private static byte[]? Compress(ReadOnlySpan<byte> json)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(HeaderBytes + BrotliEncoder.GetMaxCompressedLength(json.Length));
        try
        {
            if (!BrotliEncoder.TryCompress(json, buffer.AsSpan(HeaderBytes), out var written, Quality, WindowBits) || HeaderBytes + written >= json.Length)
            {
                return null;
            }

            buffer[0] = BrotliTag;
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(1, 4), json.Length);
            return buffer.AsSpan(0, HeaderBytes + written).ToArray();
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Whether <paramref name="stored"/> is a compressed value (otherwise it is plain JSON).</summary>
    public static bool IsCompressed(ReadOnlySpan<byte> stored) => !stored.IsEmpty && stored[0] == BrotliTag;

    /// <summary>A value stored by <see cref="Serialize{T}"/> or as plain JSON.</summary>
    /// <exception cref="JsonException">The value is neither valid JSON of <typeparamref name="T"/> nor an intact compressed value.</exception>
    public static T? Deserialize<T>(ReadOnlySpan<byte> stored, JsonSerializerOptions options)
    {
        if (!IsCompressed(stored))
        {
            return JsonSerializer.Deserialize<T>(stored, options);
        }

        var length = stored.Length >= HeaderBytes ? BinaryPrimitives.ReadInt32LittleEndian(stored.Slice(1, 4)) : -1;
        if (length is < 0 or > MaxJsonBytes)
        {
            throw new JsonException($"A compressed state value is damaged: its header claims {length} bytes of JSON.");
        }

        var json = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
        try
        {
            if (!BrotliDecoder.TryDecompress(stored[HeaderBytes..], json, out var written) || written != length)
            {
                throw new JsonException($"A compressed state value is damaged: it does not decompress to the {length} bytes its header claims.");
            }

            return JsonSerializer.Deserialize<T>(json.AsSpan(0, length), options);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(json);
        }
    }

    /// <summary>A thread's JSON writer for one set of options, writing into its own growing buffer.</summary>
    private sealed class Writer
    {
        public Writer(JsonSerializerOptions options)
        {
            Options = options;
            Json = new Utf8JsonWriter(Buffer, new JsonWriterOptions
            {
                // As JsonSerializer.SerializeToUtf8Bytes configures its own writer, so the bytes are the same.
                Encoder = options.Encoder,
                Indented = options.WriteIndented,
                IndentCharacter = options.IndentCharacter,
                IndentSize = options.IndentSize,
                NewLine = options.NewLine,
                MaxDepth = options.MaxDepth == 0 ? 64 : options.MaxDepth,
                SkipValidation = true,
            });
        }

        public JsonSerializerOptions Options { get; }

        public ArrayBufferWriter<byte> Buffer { get; } = new(16 * 1024);

        public Utf8JsonWriter Json { get; }
    }
}
