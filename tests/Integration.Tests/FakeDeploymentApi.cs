using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Integration.Tests;

/// <summary>
/// A deployment API on loopback as deploy steps expect it: GET /deploy reports the running version, POST /deploy
/// applies an operation, GET /health is healthy only while <see cref="HealthyVersion"/> runs. Records every call.
/// </summary>
public sealed class FakeDeploymentApi : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeDeploymentApi(WebApplication app) => _app = app;

    public ConcurrentQueue<string> Calls { get; } = new();

    public string Version { get; private set; } = "1";

    public string HealthyVersion { get; set; } = "1";

    public string BaseUrl { get; private set; } = string.Empty;

    public static async Task<FakeDeploymentApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel().UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var api = new FakeDeploymentApi(app);
        app.MapGet("/deploy", () =>
        {
            api.Calls.Enqueue("GET /deploy");
            return Results.Json(new { version = api.Version, instances = 1 });
        });
        app.MapPost("/deploy", async (HttpRequest request) =>
        {
            var body = await JsonDocument.ParseAsync(request.Body);
            var op = body.RootElement.GetProperty("op").GetString();
            var version = body.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
            api.Calls.Enqueue($"POST /deploy {op} {version}".TrimEnd());
            if (version is not null)
            {
                api.Version = version;
            }

            return Results.Ok();
        });
        app.MapGet("/health", () =>
        {
            api.Calls.Enqueue("GET /health");
            return api.Version == api.HealthyVersion ? Results.Ok() : Results.StatusCode(503);
        });
        await app.StartAsync();
        api.BaseUrl = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return api;
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await _app.StopAsync(stop.Token);
        await _app.DisposeAsync();
    }
}
