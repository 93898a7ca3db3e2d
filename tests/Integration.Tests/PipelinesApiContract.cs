using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Integration.Tests;

/// <summary>
/// The main job for pipelines tests over HTTP (loopback allowed for http and deploy steps, quick health checks), with
/// the helpers they share: save YAML, start a run, read it, wait for it with a deadline, keys for named approvers.
/// </summary>
public abstract class PipelinesApiContract : IAsyncLifetime
{
    protected LocalHost Host { get; private set; } = null!;

    protected HttpClient Admin { get; private set; } = null!;

    /// <summary>The distributed profile of a class that runs on it (its own schema, dropped after the class), or none.</summary>
    protected virtual DistributedProfile? Distributed => null;

    protected virtual IDictionary<string, string?> ProfileSettings => Distributed?.Settings() ?? new Dictionary<string, string?>();

    /// <summary>Settings a test class adds on top of the shared ones (e.g. a short HTTP timeout).</summary>
    protected virtual IDictionary<string, string?> ClassSettings => new Dictionary<string, string?>();

    public ValueTask InitializeAsync()
    {
        var settings = new Dictionary<string, string?>(ProfileSettings)
        {
            ["Pipelines:Http:AllowList:0"] = "127.0.0.0/8",
            ["Pipelines:Deploy:HealthCheckAttempts"] = "2",
            ["Pipelines:Deploy:HealthCheckInterval"] = "00:00:00.050",
            // No second line behind the stop notes: a running step here notices a cancel or a timeout through the note alone.
            ["Pipelines:Runner:RunCheckInterval"] = "01:00:00",
        };
        foreach (var (key, value) in ClassSettings)
        {
            settings[key] = value;
        }

        Host = new LocalHost(settings: settings);
        Admin = Host.CreateClient(Host.AdminKey);
        return ValueTask.CompletedTask;
    }

    public virtual async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        if (Distributed is { } profile)
        {
            await profile.DropSchemaAsync();
        }
    }

    /// <summary>A client with an operator key named <paramref name="name"/>: approvals are decided as the caller's key name.</summary>
    protected async Task<HttpClient> PersonAsync(string name)
    {
        var created = await Admin.PostAsJsonAsync("/api/keys", new { name, role = "operator" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return Host.CreateClient((await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("key").GetString());
    }

    protected async Task SaveAsync(string name, string yaml)
    {
        var response = await Admin.PutAsync($"/api/pipelines/{name}", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    protected async Task<string> StartAsync(string name, object? parameters = null)
    {
        var response = await Admin.PostAsJsonAsync($"/api/pipelines/{name}/runs", new { parameters = parameters ?? new { } });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("runId").GetString()!;
    }

    protected async Task<JsonElement> RunAsync(string runId)
    {
        var response = await Admin.GetAsync($"/api/runs/{runId}");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET /api/runs/{runId}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    protected static JsonElement Step(JsonElement run, string id) => run.GetProperty("steps").EnumerateArray().Single(s => s.GetProperty("id").GetString() == id);

    protected static string Status(JsonElement run, string step) => Step(run, step).GetProperty("status").GetString()!;

    /// <summary>Polls the run until <paramref name="done"/> holds; no sleeps as synchronisation, a deadline instead.</summary>
    protected async Task<JsonElement> WaitForRunAsync(string runId, Func<JsonElement, bool> done, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var run = await RunAsync(runId);
            if (done(run))
            {
                return run;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for {what}; the run is {run}");
            }

            await Task.Delay(50);
        }
    }

    protected Task<JsonElement> WaitForStatusAsync(string runId, string status, double seconds = 30) =>
        WaitForRunAsync(runId, r => r.GetProperty("status").GetString() == status, $"run {runId} to be {status}", seconds);
}
