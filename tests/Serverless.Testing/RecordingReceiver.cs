using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Testing;

/// <summary>
/// A real Kestrel receiver on 127.0.0.1 that answers like the receivers we must survive. Besides the webhook
/// receivers' answers: <c>/fail</c> answers 500 to any method, <c>POST /unavailable</c> 503 with <c>Retry-After: 1</c>,
/// <c>GET /stream/{bytes}</c> a body of that many <c>x</c> (with its length) and <c>GET /stream</c> one that never ends
/// (chunked); each stream is recorded in <see cref="Streams"/> once it stops.
/// </summary>
public sealed class RecordingReceiver : IAsyncDisposable
{
    private static readonly byte[] Chunk = System.Text.Encoding.ASCII.GetBytes(new string('x', 64 * 1024));

    private readonly WebApplication _app;

    private RecordingReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, IHeaderDictionary Headers, byte[] Body)> Requests { get; } = new();

    /// <summary>Every request's method and target as sent (path and query still percent-encoded), e.g. <c>GET /items/a%2Fb?q=1</c>.</summary>
    public ConcurrentQueue<string> Targets { get; } = new();

    /// <summary>
    /// Each <c>/stream</c> answer once it stopped: its length (null: endless), the bytes written, and whether the client
    /// left before the end. <c>Written</c> is exact for an answer with a length; an endless (chunked) one may count
    /// writes Kestrel dropped after the client left and before it noticed.
    /// </summary>
    public ConcurrentQueue<(long? Length, long Written, bool ClientLeft)> Streams { get; } = new();

    public string BaseUrl { get; private set; } = string.Empty;

    public static async Task<RecordingReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new RecordingReceiver(app);
        app.Use(async (context, next) =>
        {
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            receiver.Requests.Enqueue((context.Request.Path, new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value)), body.ToArray()));
            receiver.Targets.Enqueue($"{context.Request.Method} {context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget}");
            await next(context);
        });
        app.MapPost("/ok", () => Results.Text("thanks " + new string('x', 10_000)));
        app.MapMethods("/fail", ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"], () => Results.StatusCode(500));
        app.MapPost("/unavailable", (HttpContext c) =>
        {
            c.Response.Headers.RetryAfter = "1";
            return Results.StatusCode(503);
        });
        app.MapGet("/stream/{bytes:long}", (HttpContext c, long bytes) => receiver.StreamAsync(c, bytes));
        app.MapGet("/stream", (HttpContext c) => receiver.StreamAsync(c, null));
        app.MapPost("/slow", async (CancellationToken ct) =>
        {
            await Task.Delay(300, ct);
            return Results.Ok();
        });
        app.MapPost("/gone", () => Results.StatusCode(410));
        app.MapPost("/busy", (HttpContext c) =>
        {
            c.Response.Headers.RetryAfter = "7";
            return Results.StatusCode(429);
        });
        app.MapPost("/redirect", () => Results.Redirect("/ok"));
        app.MapPost("/hang", async (CancellationToken ct) =>
        {
            await Task.Delay(Timeout.Infinite, ct);
            return Results.Ok();
        });
        app.MapPost("/late-stall", async (HttpContext c, CancellationToken ct) =>
        {
            // Answers late, then sends part of its body and stalls.
            await Task.Delay(1400, ct);
            c.Response.StatusCode = 200;
            await c.Response.WriteAsync("partial", ct);
            await c.Response.Body.FlushAsync(ct);
            await Task.Delay(Timeout.Infinite, ct);
        });
        await app.StartAsync();
        receiver.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return receiver;
    }

    /// <summary>Writes <paramref name="bytes"/> of <c>x</c> (null: without end) until done or the client leaves.</summary>
    private async Task StreamAsync(HttpContext context, long? bytes)
    {
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes;
        long written = 0;
        try
        {
            while (bytes is null || written < bytes)
            {
                // Once the connection is gone Kestrel drops writes without an error and cancels RequestAborted a little
                // later; a write with a length learns it at once from its flush, a chunked one only from the token.
                var size = (int)Math.Min(Chunk.Length, (bytes ?? long.MaxValue) - written);
                var flushed = await context.Response.BodyWriter.WriteAsync(Chunk.AsMemory(0, size), context.RequestAborted);
                if (flushed.IsCompleted || flushed.IsCanceled)
                {
                    Streams.Enqueue((bytes, written, true));
                    return;
                }

                written += size;
            }

            Streams.Enqueue((bytes, written, false));
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            Streams.Enqueue((bytes, written, true));
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
