using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Serverless.Promotions.Functions.Apis;

/// <summary>
/// A JSON answer (200 unless told otherwise) serialised in one synchronous pass into a per-thread buffer, then copied to the response with
/// its Content-Length. For large answers (a priced basket is about 20 KB) this takes the generated serialiser's fast
/// path, which streaming serialisation gives up once answers exceed its flush threshold, and avoids chunked encoding.
/// <paramref name="write"/>, when given, writes the value instead of the generated serialiser (a hand-written writer
/// producing the same bytes; <paramref name="typeInfo"/> then only supplies the encoder).
/// </summary>
internal sealed class BufferedJsonResult<T>(T value, JsonTypeInfo<T> typeInfo, int statusCode = StatusCodes.Status200OK, string contentType = "application/json; charset=utf-8", Action<Utf8JsonWriter, T>? write = null) : IResult
{
    /// <summary>Buffers that grew past this (a huge basket) are not kept for the next request.</summary>
    private const int KeepAtMost = 1024 * 1024;

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(32 * 1024);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = typeInfo.Options.Encoder, SkipValidation = true });
        try
        {
            writer.Reset(buffer);
            if (write is null)
            {
                JsonSerializer.Serialize(writer, value, typeInfo);
            }
            else
            {
                write(writer, value);
                writer.Flush();
            }

            var response = httpContext.Response;
            response.StatusCode = statusCode;
            response.ContentType = contentType;
            response.ContentLength = buffer.WrittenCount;
            response.BodyWriter.Write(buffer.WrittenSpan);
        }
        finally
        {
            if (buffer.Capacity > KeepAtMost)
            {
                t_buffer = null;
                t_writer = null;
            }
            else
            {
                buffer.ResetWrittenCount();
            }
        }

        return FlushAsync(httpContext);
    }

    private static async Task FlushAsync(HttpContext httpContext) =>
        await httpContext.Response.BodyWriter.FlushAsync(httpContext.RequestAborted).ConfigureAwait(false);
}
