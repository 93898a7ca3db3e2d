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
/// A deployment API on loopback as deploy steps expect it: GET /deploy reports the running version and active slot,
/// POST /deploy applies an operation (rolling instances, blue-green slots, a canary with its traffic share), GET
/// /health is healthy only while the version taking traffic (the canary, once it has a share) is <see cref="HealthyVersion"/>, GET /health/idle only
/// while the idle blue-green slot does. Records every call; operations named in <see cref="FailingOps"/> answer 409; <see cref="CurrentStatus"/> makes GET /deploy fail.
/// </summary>
public sealed class FakeDeploymentApi : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Lock _gate = new();

    private FakeDeploymentApi(WebApplication app) => _app = app;

    public ConcurrentQueue<string> Calls { get; } = new();

    /// <summary>The version taking (stable) traffic.</summary>
    public string Version { get; private set; } = "1";

    public string ActiveSlot { get; private set; } = "blue";

    public Dictionary<string, string> Slots { get; } = new(StringComparer.Ordinal) { ["blue"] = "1" };

    public string? CanaryVersion { get; private set; }

    public int CanaryPercent { get; private set; }

    public string HealthyVersion { get; set; } = "1";

    public HashSet<string> FailingOps { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, GET /deploy answers this status (e.g. 500) instead of what runs.</summary>
    public int? CurrentStatus { get; set; }

    /// <summary>When true, GET /deploy reports no version (nothing was ever deployed).</summary>
    public bool ReportsNoVersion { get; set; }

    /// <summary>When true, GET /deploy reports the version but not which slot is live.</summary>
    public bool ReportsNoSlot { get; set; }

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
            if (api.CurrentStatus is { } status)
            {
                return Results.StatusCode(status);
            }

            lock (api._gate)
            {
                return api.ReportsNoVersion
                    ? Results.Json(new { instances = 1 })
                    : api.ReportsNoSlot
                        ? Results.Json(new { version = api.Version, instances = 1 })
                        : Results.Json(new { version = api.Version, activeSlot = api.ActiveSlot, instances = 1 });
            }
        });
        app.MapPost("/deploy", async (HttpRequest request) =>
        {
            var body = (await JsonDocument.ParseAsync(request.Body)).RootElement;
            string? Text(string name) => body.TryGetProperty(name, out var v) ? v.ValueKind == JsonValueKind.Number ? v.GetRawText() : v.GetString() : null;
            var op = Text("op")!;
            var (slot, version) = (Text("slot") ?? Text("toSlot"), Text("version"));
            api.Calls.Enqueue(string.Join(' ', new[] { "POST /deploy", op, slot, Text("percent"), version }.Where(p => p is not null)));
            if (api.FailingOps.Contains(op))
            {
                return Results.StatusCode(409); // refused, not a transient 5xx the client would retry
            }

            lock (api._gate)
            {
                switch (op)
                {
                    case "deployInstances":
                        api.Version = version!;
                        break;
                    case "deploySlot":
                        api.Slots[slot!] = version!;
                        break;
                    case "switchTraffic":
                        api.ActiveSlot = slot!;
                        api.Version = api.Slots[slot!];
                        break;
                    case "deployCanary":
                        api.CanaryVersion = version;
                        break;
                    case "shiftTraffic":
                        api.CanaryPercent = body.GetProperty("percent").GetInt32();
                        break;
                    case "promoteCanary":
                        (api.Version, api.CanaryVersion, api.CanaryPercent) = (version!, null, 0);
                        break;
                    case "removeCanary":
                        (api.CanaryVersion, api.CanaryPercent) = (null, 0);
                        break;
                }
            }

            return Results.Ok();
        });
        app.MapGet("/health", () =>
        {
            api.Calls.Enqueue("GET /health");
            lock (api._gate)
            {
                // While a canary takes traffic, its health is what is checked.
                var serving = api.CanaryVersion is not null && api.CanaryPercent > 0 ? api.CanaryVersion : api.Version;
                var healthy = serving == api.HealthyVersion;
                return healthy ? Results.Ok() : Results.StatusCode(503);
            }
        });
        app.MapGet("/health/idle", () =>
        {
            api.Calls.Enqueue("GET /health/idle");
            lock (api._gate)
            {
                var idle = api.ActiveSlot == "blue" ? "green" : "blue";
                return api.Slots.GetValueOrDefault(idle) == api.HealthyVersion ? Results.Ok() : Results.StatusCode(503);
            }
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
