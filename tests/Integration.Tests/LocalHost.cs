using System.Net.Http.Headers;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Serverless.BuildingBlocks.Security;

namespace Integration.Tests;

/// <summary>The main job (services/Local) in memory, on a data directory of its own.</summary>
public sealed class LocalHost : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;
    private readonly Action<IServiceCollection>? _services;

    public LocalHost(string? dataDirectory = null, IDictionary<string, string?>? settings = null, Action<IServiceCollection>? services = null)
    {
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("local-host-").FullName;
        _settings = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["Serverless:DataDirectory"] = DataDirectory,
            ["Serverless:PubSub:InitialBackoff"] = "00:00:00.020",
            ["Serverless:PubSub:MaxBackoff"] = "00:00:00.100",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            _settings[key] = value;
        }

        _services = services;
    }

    public string DataDirectory { get; }

    /// <summary>The key the host created on its first start (starting the host if it has not started yet).</summary>
    public string AdminKey
    {
        get
        {
            _ = Server;
            return File.ReadAllText(Path.Combine(DataDirectory, AdminKeyBootstrap.FileName)).Trim();
        }
    }

    public HttpClient CreateClient(string? apiKey)
    {
        var client = CreateClient();
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        if (_services is not null)
        {
            builder.ConfigureServices(_services);
        }
    }
}
