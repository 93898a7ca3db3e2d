using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Serverless.Testing;

/// <summary>A real Kestrel receiver on 127.0.0.1 that answers like the receivers we must survive.</summary>
public sealed class RecordingReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private RecordingReceiver(WebApplication app) => _app = app;

    public ConcurrentQueue<(string Path, IHeaderDictionary Headers, byte[] Body)> Requests { get; } = new();

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
            await next(context);
        });
        app.MapPost("/ok", () => Results.Text("thanks " + new string('x', 10_000)));
        app.MapPost("/fail", () => Results.StatusCode(500));
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

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
